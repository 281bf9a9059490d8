"""Telegram Bot API: webhook updates in, sendMessage and answerCallbackQuery out."""

from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, ValidationError

from app.channels.base import (
    ChannelAdapter,
    Choice,
    Inbound,
    OutboundRequest,
    SendResult,
    WebhookModel,
    classify_status,
    clip,
    encode_choice,
    greeting_text,
    load_json,
    split_text,
)
from app.channels.signatures import verify_shared_secret
from app.settings import Settings

START_COMMANDS = ("/start", "/help")


class _Model(WebhookModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TgUser(_Model):
    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or (
            self.username or str(self.id)
        )


class TgChat(_Model):
    id: int
    type: str = "private"


class TgMessage(_Model):
    message_id: int
    chat: TgChat
    from_: TgUser | None = Field(default=None, alias="from")
    text: str | None = None
    reply_markup: dict[str, Any] | None = None


class TgCallbackQuery(_Model):
    id: str
    from_: TgUser = Field(alias="from")
    message: TgMessage | None = None
    data: str | None = None


class TgUpdate(_Model):
    update_id: int
    message: TgMessage | None = None
    callback_query: TgCallbackQuery | None = None


def _button_title(message: TgMessage | None, data: str) -> str | None:
    """The label of the inline button whose callback_data is `data`."""
    rows = ((message.reply_markup or {}).get("inline_keyboard") if message else None) or []
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text") or "") or None
    return None


def _metadata(user: TgUser) -> dict[str, Any]:
    return {"telegram": {"username": user.username, "language_code": user.language_code}}


class TelegramAdapter(ChannelAdapter):
    name = "telegram"
    text_limit = 4096
    choice_bytes = 64  # callback_data is 1-64 bytes

    def enabled(self, settings: Settings) -> bool:
        return bool(settings.telegram_bot_token and settings.telegram_webhook_secret)

    def authenticate(self, *, headers: Mapping[str, str], body: bytes, settings: Settings) -> Any:
        verify_shared_secret(
            headers.get("x-telegram-bot-api-secret-token"),
            settings.telegram_webhook_secret or "",
            what="X-Telegram-Bot-Api-Secret-Token header",
        )
        return load_json(body)

    def acknowledgement(self) -> Response:
        return JSONResponse({"ok": True})

    def parse(self, payload: Any) -> list[Inbound]:
        try:
            update = TgUpdate.model_validate(payload)
        except ValidationError:
            return []
        external_id = str(update.update_id)
        message = update.message
        if message is not None:
            # Private chats only: in a group the bot would answer everyone's chatter.
            if message.chat.type != "private" or message.from_ is None or not message.text:
                return []
            user = message.from_
            text = message.text
            words = text.split()
            if words and words[0].split("@")[0] in START_COMMANDS:
                text = greeting_text(_short_language(user.language_code))
            return [
                Inbound(
                    external_id=external_id,
                    user_id=str(user.id),
                    reply_to=str(message.chat.id),
                    text=text,
                    user_name=user.full_name,
                    language=_short_language(user.language_code),
                    metadata=_metadata(user),
                )
            ]
        query = update.callback_query
        if query is not None and query.data:
            chat = query.message.chat if query.message else None
            if chat is not None and chat.type != "private":
                return []
            return [
                Inbound(
                    external_id=external_id,
                    user_id=str(query.from_.id),
                    reply_to=str(chat.id if chat else query.from_.id),
                    text=_button_title(query.message, query.data) or query.data,
                    user_name=query.from_.full_name,
                    language=_short_language(query.from_.language_code),
                    choice_token=query.data,
                    callback_id=query.id,
                    metadata=_metadata(query.from_),
                )
            ]
        return []

    def render(self, *, recipient: str, text: str, choices: list[Choice]) -> list[dict[str, Any]]:
        chunks = split_text(text, self.text_limit)
        payloads = [
            {"op": "sendMessage", "body": {"chat_id": recipient, "text": chunk}} for chunk in chunks
        ]
        if choices:
            payloads[-1]["body"]["reply_markup"] = {
                "inline_keyboard": [
                    [
                        {
                            "text": clip(choice.title, 64),
                            "callback_data": encode_choice(choice.id, self.choice_bytes),
                        }
                    ]
                    for choice in choices
                ]
            }
        return payloads

    def answer_tap(self, event: Inbound) -> list[dict[str, Any]]:
        if event.callback_id is None:
            return []
        return [{"op": "answerCallbackQuery", "body": {"callback_query_id": event.callback_id}}]

    def request(self, payload: dict[str, Any], settings: Settings) -> OutboundRequest:
        base = settings.telegram_api_base.rstrip("/")
        return OutboundRequest(
            "POST", f"{base}/bot{settings.telegram_bot_token}/{payload['op']}", json=payload["body"]
        )

    def classify(self, response: httpx.Response) -> SendResult:
        result = classify_status(response)
        if result.outcome == "retry" and result.retry_after is None:
            body = load_json(response.content)
            parameters = body.get("parameters") if isinstance(body, dict) else None
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            if isinstance(retry_after, int | float):
                return SendResult("retry", result.error, float(retry_after))
        return result

    def secrets(self, settings: Settings) -> list[str]:
        return [settings.telegram_bot_token or ""]


def _short_language(code: str | None) -> str | None:
    """ "pt-br" -> "pt"; anything that is not a plain language code -> None."""
    if not code:
        return None
    short = code.split("-")[0].split("_")[0].lower()
    return short if short.isalpha() and 2 <= len(short) <= 3 else None


def set_webhook(*, settings: Settings, url: str, client: httpx.Client) -> dict[str, Any]:
    """Registers `url` with Telegram, with the secret Telegram must send back on every update."""
    base = settings.telegram_api_base.rstrip("/")
    response = client.post(
        f"{base}/bot{settings.telegram_bot_token}/setWebhook",
        json={
            "url": url,
            "secret_token": settings.telegram_webhook_secret,
            "allowed_updates": ["message", "callback_query"],
        },
    )
    body = load_json(response.content)
    if not isinstance(body, dict):
        body = {"ok": False, "description": f"HTTP {response.status_code}"}
    return body
