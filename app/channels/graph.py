"""What Messenger and WhatsApp share: Meta's Graph API webhooks and error answers."""

from collections.abc import Mapping
from typing import Any

import httpx
from fastapi.responses import PlainTextResponse

from app.channels.base import ChannelAdapter, SendResult, classify_status, load_json
from app.channels.signatures import secrets_equal, verify_hub_signature
from app.errors import Forbidden
from app.settings import Settings

# Graph error codes that mean "too fast" or "try again": API unknown/service, rate limits.
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613, 80001, 80006, 130429, 131048, 131056}


def verify_subscription(params: Mapping[str, str], verify_token: str) -> PlainTextResponse:
    """The GET handshake: echo hub.challenge when hub.verify_token is ours."""
    given = params.get("hub.verify_token") or ""
    if params.get("hub.mode") != "subscribe" or not secrets_equal(given, verify_token):
        raise Forbidden("hub.mode must be subscribe and hub.verify_token must match.")
    return PlainTextResponse(params.get("hub.challenge") or "")


def classify_graph(response: httpx.Response) -> SendResult:
    result = classify_status(response)
    if result.outcome != "failed":
        return result
    body = load_json(response.content)
    error: Any = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and (
        error.get("is_transient") is True or error.get("code") in TRANSIENT_CODES
    ):
        return SendResult("retry", result.error)
    return result


class GraphAdapter(ChannelAdapter):
    """A Graph API platform: the hub handshake, X-Hub-Signature-256 over the body, a bearer
    token for sends and Graph's error answers. Subclasses name their settings' prefix
    ("messenger" reads messenger_app_secret and messenger_verify_token) and token setting."""

    settings_prefix: str
    access_token_setting: str

    def _setting(self, settings: Settings, name: str) -> str:
        return str(getattr(settings, f"{self.settings_prefix}_{name}") or "")

    def access_token(self, settings: Settings) -> str:
        return str(getattr(settings, self.access_token_setting) or "")

    def verify_token(self, settings: Settings) -> str:
        return self._setting(settings, "verify_token")

    def authenticate(self, *, headers: Mapping[str, str], body: bytes, settings: Settings) -> Any:
        verify_hub_signature(
            headers.get("x-hub-signature-256"), body, self._setting(settings, "app_secret")
        )
        return load_json(body)

    def classify(self, response: httpx.Response) -> SendResult:
        return classify_graph(response)

    def secrets(self, settings: Settings) -> list[str]:
        return [self.access_token(settings)]


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a webhook's list field; anything else in it is not ours to read."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
