"""Webhook bodies shaped like the platforms' own, and helpers that sign and post them."""

import hashlib
import hmac
import itertools
import json
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.channels.models import OutboxMessage
from app.conversations.models import Conversation, Message
from tests.channels.conftest import MS_APP_SECRET, TG_SECRET, VK_SECRET, WA_APP_SECRET

_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


# -- Telegram ------------------------------------------------------------------------------


def tg_message(
    user_id: int, text: str, *, update_id: int | None = None, language: str = "en"
) -> dict[str, Any]:
    return {
        "update_id": update_id or next_id(),
        "message": {
            "message_id": next_id(),
            "date": 1700000000,
            "chat": {"id": user_id, "type": "private", "first_name": "Ann"},
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": "Ann",
                "last_name": "Lee",
                "language_code": language,
            },
            "text": text,
        },
    }


def tg_callback(user_id: int, data: str, markup: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "update_id": next_id(),
        "callback_query": {
            "id": f"cbq-{next_id()}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"},
            "chat_instance": "-1",
            "data": data,
            "message": {
                "message_id": next_id(),
                "date": 1700000000,
                "chat": {"id": user_id, "type": "private"},
                "text": "Did you mean one of these?",
                "reply_markup": markup or {},
            },
        },
    }


def tg_post(
    client: TestClient, update: Any, *, secret: str | None = TG_SECRET, raw: bytes | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = raw if raw is not None else json.dumps(update).encode()
    return client.post("/webhooks/telegram", content=body, headers=headers)


# -- Messenger and WhatsApp (Graph API) ----------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def graph_post(
    client: TestClient,
    channel: str,
    payload: Any,
    *,
    signature: str | None = "good",
    raw: bytes | None = None,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    secret = MS_APP_SECRET if channel == "messenger" else WA_APP_SECRET
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-Hub-Signature-256"] = sign(body, secret)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post(f"/webhooks/{channel}", content=body, headers=headers)


def ms_text(
    psid: str, text: str, *, mid: str | None = None, quick_reply: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid or f"m_{next_id()}", "text": text}
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    return {
        "sender": {"id": psid},
        "recipient": {"id": "PAGE"},
        "timestamp": 1700000000000,
        "message": message,
    }


def ms_body(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": "PAGE", "time": 1700000000000, "messaging": list(events)}],
    }


def wa_body(*messages: dict[str, Any], name: str = "Ann Lee") -> dict[str, Any]:
    contacts = [{"profile": {"name": name}, "wa_id": m["from"]} for m in messages]
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": "109876543210",
                            },
                            "contacts": contacts,
                            "messages": list(messages),
                        },
                    }
                ],
            }
        ],
    }


def wa_text(number: str, text: str, *, wamid: str | None = None) -> dict[str, Any]:
    return {
        "from": number,
        "id": wamid or f"wamid.{next_id()}",
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": text},
    }


def wa_button_reply(number: str, button_id: str, title: str) -> dict[str, Any]:
    return {
        "from": number,
        "id": f"wamid.{next_id()}",
        "timestamp": "1700000000",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
    }


# -- VK ------------------------------------------------------------------------------------


def vk_message(
    user_id: int,
    text: str,
    *,
    message_id: int | None = None,
    payload: str | None = None,
    secret: str | None = VK_SECRET,
    lang_id: int = 3,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "date": 1700000000,
        "from_id": user_id,
        "id": message_id or next_id(),
        "out": 0,
        "peer_id": user_id,
        "text": text,
        "conversation_message_id": next_id(),
    }
    if payload is not None:
        message["payload"] = payload
    event: dict[str, Any] = {
        "group_id": 1,
        "type": "message_new",
        "event_id": f"ev{next_id()}",
        "v": "5.199",
        "object": {
            "message": message,
            "client_info": {
                "button_actions": ["text"],
                "keyboard": True,
                "inline_keyboard": True,
                "lang_id": lang_id,
            },
        },
    }
    if secret is not None:
        event["secret"] = secret
    return event


# -- what the database holds ---------------------------------------------------------------


def count_rows(client: TestClient) -> dict[str, int]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return {
            "conversations": session.scalar(select(func.count()).select_from(Conversation)),
            "messages": session.scalar(select(func.count()).select_from(Message)),
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)),
        }


def outbox_rows(client: TestClient) -> list[OutboxMessage]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def conversations(client: TestClient, channel: str) -> list[Conversation]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return list(
            session.scalars(
                select(Conversation)
                .where(Conversation.channel == channel)
                .order_by(Conversation.created_at)
            )
        )
