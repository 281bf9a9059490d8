"""The shape every messenger adapter has, and the small helpers they share.

An adapter is stateless: it checks a webhook's signature, turns the platform's JSON into
`Inbound` events, renders a reply as outbox payloads, and turns a payload back into an HTTP
request when the outbox sender delivers it. Everything else (idempotency, conversations, the
chat engine, retries) is shared code in service.py and outbox.py.
"""

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Literal

import httpx
from fastapi import Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from app.db import utcnow
from app.settings import Settings

__all__ = [
    "ChannelAdapter",
    "Choice",
    "Inbound",
    "OutboundRequest",
    "SendResult",
    "WebhookModel",
    "clip",
    "encode_choice",
    "greeting_text",
    "load_json",
    "resolve_choice",
    "split_text",
]


class WebhookModel(BaseModel):
    """A platform's webhook object: read the fields we use, ignore the ones it adds later."""

    model_config = ConfigDict(extra="ignore")


GREETINGS = {"ru": "привет", "uk": "привет", "be": "привет", "kk": "привет"}


@dataclass(frozen=True, slots=True)
class Choice:
    """A suggestion offered as a button: the article id and its title."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """One customer message (or button tap) as the chat engine needs it."""

    external_id: str  # the platform's id for the event, for idempotency
    user_id: str  # the customer's id on the platform
    reply_to: str  # where replies go (Telegram chat id, PSID, phone number, VK peer id)
    text: str
    user_name: str | None = None
    language: str | None = None  # the platform's interface language, if it says
    choice_token: str | None = None  # a tapped button's data, as the platform returned it
    callback_id: str | None = None  # Telegram: the callback query to answer
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str
    json: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Literal["sent", "retry", "failed"]
    error: str | None = None
    retry_after: float | None = None  # seconds the platform asked us to wait


class ChannelAdapter(ABC):
    name: ClassVar[str]
    # The longest text one message may carry, and the most bytes a button's data may hold.
    text_limit: ClassVar[int]
    choice_bytes: ClassVar[int]

    @abstractmethod
    def enabled(self, settings: Settings) -> bool:
        """True when every setting the channel needs is present."""

    @abstractmethod
    def authenticate(self, *, headers: Mapping[str, str], body: bytes, settings: Settings) -> Any:
        """Raises Unauthorized/Forbidden unless the platform signed `body`; returns its JSON
        (None when it is not JSON)."""

    def handshake(self, payload: Any, settings: Settings) -> Response | None:
        """A response that replaces normal processing (VK's confirmation), or None."""
        return None

    @abstractmethod
    def parse(self, payload: Any) -> list[Inbound]:
        """The customer messages in a webhook body; anything unexpected is skipped."""

    def acknowledgement(self) -> Response:
        return PlainTextResponse("EVENT_RECEIVED")

    @abstractmethod
    def render(self, *, recipient: str, text: str, choices: list[Choice]) -> list[dict[str, Any]]:
        """Outbox payloads ({"op", "body"}) that show `text` and offer `choices` as buttons."""

    def answer_tap(self, event: Inbound) -> list[dict[str, Any]]:
        """Payloads that acknowledge a button tap (Telegram's answerCallbackQuery)."""
        return []

    @abstractmethod
    def request(self, payload: dict[str, Any], settings: Settings) -> OutboundRequest:
        """The HTTP request that delivers one outbox payload, credentials included."""

    def classify(self, response: httpx.Response) -> SendResult:
        return classify_status(response)

    def secrets(self, settings: Settings) -> list[str]:
        """Values never to write into an error message (tokens in URLs)."""
        return []


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:300]}"


def classify_status(response: httpx.Response) -> SendResult:
    """2xx sent; 408, 429 and 5xx worth retrying; any other 4xx will not get better."""
    status = response.status_code
    if 200 <= status < 300:
        return SendResult("sent")
    if status in (408, 429) or status >= 500:
        return SendResult("retry", describe(response), retry_after_seconds(response))
    return SendResult("failed", describe(response))


def split_text(text: str, limit: int) -> list[str]:
    """Cuts a long reply into messages of at most `limit` characters, at paragraph, line or
    word breaks where it can."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not parts:
        parts.append(text)
    return parts


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _digest(article_id: str) -> str:
    return "#" + hashlib.sha256(article_id.encode()).hexdigest()[:32]


def encode_choice(article_id: str, max_bytes: int) -> str:
    """The article id as a button's data, or a short digest of it when it does not fit."""
    if len(article_id.encode()) <= max_bytes and not article_id.startswith("#"):
        return article_id
    return _digest(article_id)


def resolve_choice(token: str | None, candidates: Iterable[str]) -> str | None:
    """The article id a tapped button stands for; digests are looked up among `candidates`."""
    if not token:
        return None
    candidates = list(candidates)
    if not token.startswith("#"):
        return token if token in candidates else None
    return next((c for c in candidates if _digest(c) == token), None)


def greeting_text(language: str | None) -> str:
    """What a "start" button means to the chat engine: a greeting in the customer's language."""
    return GREETINGS.get(language or "", "hello")
