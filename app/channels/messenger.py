"""Facebook Messenger Platform: page webhooks in, the Send API (/me/messages) out."""

from typing import Any

from pydantic import ValidationError

from app.channels.base import (
    Choice,
    Inbound,
    OutboundRequest,
    WebhookModel,
    clip,
    encode_choice,
    greeting_text,
    split_text,
)
from app.channels.graph import GraphAdapter, dicts
from app.settings import Settings

MAX_QUICK_REPLIES = 13
START_PAYLOADS = ("GET_STARTED", "get_started", "start")


class MsParty(WebhookModel):
    id: str


class MsQuickReply(WebhookModel):
    payload: str | None = None


class MsMessage(WebhookModel):
    mid: str
    text: str | None = None
    is_echo: bool = False
    quick_reply: MsQuickReply | None = None


class MsPostback(WebhookModel):
    mid: str | None = None
    title: str | None = None
    payload: str | None = None


class MsEvent(WebhookModel):
    sender: MsParty
    recipient: MsParty | None = None
    timestamp: int | None = None
    message: MsMessage | None = None
    postback: MsPostback | None = None


def _event(raw: Any) -> Inbound | None:
    try:
        event = MsEvent.model_validate(raw)
    except ValidationError:
        return None
    psid = event.sender.id
    common = {"user_id": psid, "reply_to": psid, "metadata": {"messenger": {"psid": psid}}}
    message = event.message
    if message is not None:
        if message.is_echo or not message.text:  # our own sends echoed back, stickers, files
            return None
        token = message.quick_reply.payload if message.quick_reply else None
        return Inbound(external_id=message.mid, text=message.text, choice_token=token, **common)
    postback = event.postback
    if postback is not None and postback.payload:
        external_id = postback.mid or f"postback:{psid}:{event.timestamp}"
        if postback.payload in START_PAYLOADS:
            return Inbound(external_id=external_id, text=greeting_text(None), **common)
        text = postback.title or postback.payload
        return Inbound(external_id=external_id, text=text, choice_token=postback.payload, **common)
    return None


class MessengerAdapter(GraphAdapter):
    name = "messenger"
    text_limit = 2000
    choice_bytes = 1000
    settings_prefix = "messenger"
    access_token_setting = "messenger_page_access_token"

    def enabled(self, settings: Settings) -> bool:
        return bool(
            settings.messenger_app_secret
            and settings.messenger_verify_token
            and settings.messenger_page_access_token
        )

    def parse(self, payload: Any) -> list[Inbound]:
        if not isinstance(payload, dict) or payload.get("object") != "page":
            return []
        events: list[Inbound] = []
        for entry in dicts(payload.get("entry")):
            for raw in dicts(entry.get("messaging")):
                event = _event(raw)
                if event is not None:
                    events.append(event)
        return events

    def render(self, *, recipient: str, text: str, choices: list[Choice]) -> list[dict[str, Any]]:
        payloads = [
            {
                "op": "me/messages",
                "body": {
                    "recipient": {"id": recipient},
                    "messaging_type": "RESPONSE",
                    "message": {"text": chunk},
                },
            }
            for chunk in split_text(text, self.text_limit)
        ]
        if choices:
            payloads[-1]["body"]["message"]["quick_replies"] = [
                {
                    "content_type": "text",
                    "title": clip(choice.title, 20),
                    "payload": encode_choice(choice.id, self.choice_bytes),
                }
                for choice in choices[:MAX_QUICK_REPLIES]
            ]
        return payloads

    def request(self, payload: dict[str, Any], settings: Settings) -> OutboundRequest:
        return OutboundRequest(
            "POST",
            f"{settings.graph_api_base.rstrip('/')}/{payload['op']}",
            json=payload["body"],
            headers={"Authorization": f"Bearer {self.access_token(settings)}"},
        )
