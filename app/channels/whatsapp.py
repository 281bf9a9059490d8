"""WhatsApp Cloud API: business-account webhooks in, /{phone-number-id}/messages out."""

from typing import Any

from pydantic import ValidationError

from app.channels.base import (
    Choice,
    Inbound,
    OutboundRequest,
    WebhookModel,
    clip,
    encode_choice,
    split_text,
)
from app.channels.graph import GraphAdapter, dicts
from app.settings import Settings

MAX_BUTTONS = 3  # interactive reply buttons: at most three, titles of at most 20 characters
BUTTON_TITLE_CHARS = 20
INTERACTIVE_BODY_CHARS = 1024


class WaText(WebhookModel):
    body: str


class WaReply(WebhookModel):
    id: str
    title: str = ""


class WaInteractive(WebhookModel):
    type: str
    button_reply: WaReply | None = None
    list_reply: WaReply | None = None


class WaButton(WebhookModel):
    payload: str | None = None
    text: str = ""


class WaMessage(WebhookModel):
    from_: str
    id: str
    type: str
    text: WaText | None = None
    interactive: WaInteractive | None = None
    button: WaButton | None = None

    @classmethod
    def read(cls, raw: Any) -> "WaMessage | None":
        if not isinstance(raw, dict):
            return None
        try:
            return cls.model_validate({**raw, "from_": raw.get("from")})
        except ValidationError:
            return None


def _inbound(message: WaMessage, names: dict[str, str], phone_number_id: Any) -> Inbound | None:
    text: str | None = None
    token: str | None = None
    if message.type == "text" and message.text is not None:
        text = message.text.body
    elif message.type == "interactive" and message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply is not None:
            text, token = reply.title or reply.id, reply.id
    elif message.type == "button" and message.button is not None:
        text, token = message.button.text or message.button.payload, message.button.payload
    if not text:
        return None  # images, locations, reactions: not something the bot can answer
    return Inbound(
        external_id=message.id,
        user_id=message.from_,
        reply_to=message.from_,
        text=text,
        user_name=names.get(message.from_),
        choice_token=token,
        metadata={"whatsapp": {"wa_id": message.from_, "phone_number_id": phone_number_id}},
    )


class WhatsAppAdapter(GraphAdapter):
    name = "whatsapp"
    text_limit = 4096
    choice_bytes = 256
    settings_prefix = "whatsapp"
    access_token_setting = "whatsapp_access_token"

    def enabled(self, settings: Settings) -> bool:
        return bool(
            settings.whatsapp_app_secret
            and settings.whatsapp_verify_token
            and settings.whatsapp_access_token
            and settings.whatsapp_phone_number_id
        )

    def parse(self, payload: Any) -> list[Inbound]:
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            return []
        events: list[Inbound] = []
        for entry in dicts(payload.get("entry")):
            for change in dicts(entry.get("changes")):
                value = change.get("value")
                if change.get("field") != "messages" or not isinstance(value, dict):
                    continue
                names = {
                    str(contact.get("wa_id")): str((contact.get("profile") or {}).get("name"))
                    for contact in dicts(value.get("contacts"))
                    if isinstance(contact.get("profile"), dict)
                }
                phone_number_id = (value.get("metadata") or {}).get("phone_number_id")
                for raw in dicts(value.get("messages")):  # statuses[] are delivery receipts
                    message = WaMessage.read(raw)
                    event = _inbound(message, names, phone_number_id) if message else None
                    if event is not None:
                        events.append(event)
        return events

    def render(self, *, recipient: str, text: str, choices: list[Choice]) -> list[dict[str, Any]]:
        common = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient}
        if not choices:
            return [
                {"op": "messages", "body": {**common, "type": "text", "text": {"body": chunk}}}
                for chunk in split_text(text, self.text_limit)
            ]
        # The buttons ride on the last part, whose body may hold at most 1024 characters.
        chunks = split_text(text, INTERACTIVE_BODY_CHARS)
        head = split_text("\n\n".join(chunks[:-1]), self.text_limit) if len(chunks) > 1 else []
        payloads = [
            {"op": "messages", "body": {**common, "type": "text", "text": {"body": chunk}}}
            for chunk in head
        ]
        buttons, titles = [], set()
        for number, choice in enumerate(choices[:MAX_BUTTONS], start=1):
            title = clip(choice.title, BUTTON_TITLE_CHARS)
            if title in titles:  # titles must differ; number the clashing one
                title = clip(f"{number}. {choice.title}", BUTTON_TITLE_CHARS)
            titles.add(title)
            buttons.append(
                {
                    "type": "reply",
                    "reply": {"id": encode_choice(choice.id, self.choice_bytes), "title": title},
                }
            )
        interactive = {
            "type": "button",
            "body": {"text": chunks[-1]},
            "action": {"buttons": buttons},
        }
        payloads.append(
            {
                "op": "messages",
                "body": {**common, "type": "interactive", "interactive": interactive},
            }
        )
        return payloads

    def request(self, payload: dict[str, Any], settings: Settings) -> OutboundRequest:
        base = settings.graph_api_base.rstrip("/")
        return OutboundRequest(
            "POST",
            f"{base}/{settings.whatsapp_phone_number_id}/{payload['op']}",
            json=payload["body"],
            headers={"Authorization": f"Bearer {self.access_token(settings)}"},
        )
