"""VK Callback API: community events in, messages.send out."""

import json
import secrets
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import Response
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

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
from app.errors import Unauthorized
from app.settings import Settings

# VK's lang_id for the client's interface language.
LANGUAGES = {0: "ru", 1: "uk", 2: "be", 3: "en", 4: "es", 5: "fi", 6: "de", 7: "it"}
# Error codes worth another try: unknown error, too many requests per second, flood control,
# internal server error.
TRANSIENT_ERRORS = {1, 6, 9, 10}
RATE_LIMIT_ERRORS = {6, 9}
BUTTON_LABEL_CHARS = 40
BUTTON_PAYLOAD_CHARS = 255


class VkMessage(WebhookModel):
    id: int = 0
    peer_id: int
    from_id: int
    text: str = ""
    payload: str | None = None
    conversation_message_id: int | None = None


def _message(event: dict[str, Any]) -> tuple[VkMessage, dict[str, Any]] | None:
    obj = event.get("object")
    if not isinstance(obj, dict):
        return None
    raw = obj.get("message", obj)  # API 5.103+ nests the message; older versions do not
    client_info = obj.get("client_info") if isinstance(obj.get("client_info"), dict) else {}
    try:
        return VkMessage.model_validate(raw), client_info or {}
    except ValidationError:
        return None


def _button_payload(raw: str | None) -> dict[str, Any]:
    value = load_json(raw.encode()) if raw else None
    return value if isinstance(value, dict) else {}


class VkAdapter(ChannelAdapter):
    name = "vk"
    text_limit = 4096
    choice_bytes = 200  # leaves room for {"choice": ...} inside the 255-character payload

    def enabled(self, settings: Settings) -> bool:
        return bool(settings.vk_confirmation and settings.vk_secret and settings.vk_access_token)

    def authenticate(self, *, headers: Mapping[str, str], body: bytes, settings: Settings) -> Any:
        payload = load_json(body)
        if not isinstance(payload, dict):
            raise Unauthorized("The request carries no secret.")
        given = payload.get("secret")
        if given is None and payload.get("type") == "confirmation":
            return payload  # the handshake; it reveals nothing and changes nothing
        verify_shared_secret(
            given if isinstance(given, str) else None, settings.vk_secret or "", what="secret"
        )
        return payload

    def handshake(self, payload: Any, settings: Settings) -> Response | None:
        if isinstance(payload, dict) and payload.get("type") == "confirmation":
            return PlainTextResponse(settings.vk_confirmation or "")
        return None

    def acknowledgement(self) -> Response:
        return PlainTextResponse("ok")

    def parse(self, payload: Any) -> list[Inbound]:
        if not isinstance(payload, dict) or payload.get("type") != "message_new":
            return []
        found = _message(payload)
        if found is None:
            return []
        message, client_info = found
        if message.from_id <= 0 or not message.text.strip():  # communities, stickers, photos
            return []
        if message.id > 0:
            external_id = f"message:{message.id}"
        elif message.conversation_message_id:
            external_id = f"peer:{message.peer_id}:{message.conversation_message_id}"
        elif payload.get("event_id"):
            external_id = f"event:{payload['event_id']}"
        else:
            return []
        lang_id = client_info.get("lang_id")
        language = LANGUAGES.get(lang_id) if isinstance(lang_id, int) else None
        button = _button_payload(message.payload)
        text = message.text
        if button.get("command") == "start":
            text = greeting_text(language)
        choice = button.get("choice")
        return [
            Inbound(
                external_id=external_id,
                user_id=str(message.from_id),
                reply_to=str(message.peer_id),
                text=text,
                language=language,
                choice_token=choice if isinstance(choice, str) else None,
                metadata={"vk": {"peer_id": message.peer_id, "lang_id": lang_id}},
            )
        ]

    def render(self, *, recipient: str, text: str, choices: list[Choice]) -> list[dict[str, Any]]:
        payloads = [
            {
                "op": "messages.send",
                "body": {
                    "peer_id": recipient,
                    "message": chunk,
                    # Fixed per outbox row: VK drops a resend with the same random_id, so a
                    # retry after a timeout cannot show the customer the message twice.
                    "random_id": secrets.randbelow(2**31 - 1) + 1,
                    "dont_parse_links": 1,
                },
            }
            for chunk in split_text(text, self.text_limit)
        ]
        if choices:
            keyboard = {
                "inline": True,
                "buttons": [
                    [
                        {
                            "action": {
                                "type": "text",
                                "label": clip(choice.title, BUTTON_LABEL_CHARS),
                                "payload": json.dumps(
                                    {"choice": encode_choice(choice.id, self.choice_bytes)},
                                    ensure_ascii=False,
                                ),
                            }
                        }
                    ]
                    for choice in choices
                ],
            }
            payloads[-1]["body"]["keyboard"] = json.dumps(keyboard, ensure_ascii=False)
        return payloads

    def request(self, payload: dict[str, Any], settings: Settings) -> OutboundRequest:
        data = {
            **payload["body"],
            "access_token": settings.vk_access_token,
            "v": settings.vk_api_version,
        }
        return OutboundRequest(
            "POST", f"{settings.vk_api_base.rstrip('/')}/{payload['op']}", data=data
        )

    def classify(self, response: httpx.Response) -> SendResult:
        result = classify_status(response)
        if result.outcome != "sent":
            return result
        # VK answers 200 even for errors; the body says which.
        body = load_json(response.content)
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return result
        code = error.get("error_code")
        detail = f"VK error {code}: {str(error.get('error_msg'))[:300]}"
        if code in TRANSIENT_ERRORS:
            return SendResult("retry", detail, 1.0 if code in RATE_LIMIT_ERRORS else None)
        return SendResult("failed", detail)

    def secrets(self, settings: Settings) -> list[str]:
        return [settings.vk_access_token or ""]
