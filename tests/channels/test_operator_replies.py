"""Operator replies reach messenger customers: deliver_to_customer goes through the outbox."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.channels.delivery import deliver_to_customer
from app.conversations.models import Conversation
from app.conversations.service import add_message
from tests.channels.conftest import WA_PHONE_ID, deliver
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import (
    count_rows,
    graph_post,
    ms_body,
    ms_text,
    next_id,
    tg_message,
    tg_post,
    vk_message,
    wa_body,
    wa_text,
)

REPLY = "Hi, this is Maria from support. I have refunded the double charge."


def _start(client: TestClient, channel: str) -> tuple[str, str]:
    """A customer writes on `channel`; returns (conversation id, where replies go)."""
    user = next_id()
    if channel == "telegram":
        tg_post(client, tg_message(user, "I was charged twice"))
        recipient = str(user)
    elif channel == "messenger":
        recipient = f"psid-{user}"
        graph_post(client, "messenger", ms_body(ms_text(recipient, "I was charged twice")))
    elif channel == "whatsapp":
        recipient = f"7900{user}"
        graph_post(client, "whatsapp", wa_body(wa_text(recipient, "I was charged twice")))
    else:
        client.post("/webhooks/vk", json=vk_message(user, "I was charged twice"))
        recipient = str(user)
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        conversation_id = session.scalars(
            select(Conversation.id).where(Conversation.channel == channel)
        ).one()
    return conversation_id, recipient


def _operator_writes(client: TestClient, conversation_id: str, *, commit: bool = True) -> None:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        message = add_message(
            session=session, conversation=conversation, role="operator", text=REPLY, author="Maria"
        )
        deliver_to_customer(session=session, conversation=conversation, message=message)
        if commit:
            session.commit()
        else:
            session.rollback()


def _recipient(channel: str, body: dict) -> str:  # type: ignore[type-arg]
    if channel == "telegram":
        return str(body.get("chat_id"))
    if channel == "messenger":
        return str(body.get("recipient", {}).get("id"))
    if channel == "whatsapp":
        return str(body.get("to"))
    return str(body.get("peer_id"))


def _received(platform: FakePlatform, channel: str) -> list[tuple[str, str, str]]:
    """(path, recipient, text) of every accepted send."""
    return [(r.path, _recipient(channel, r.body), r.text) for r in platform.sent()]


@pytest.mark.parametrize("channel", ["telegram", "messenger", "whatsapp", "vk"])
def test_operator_reply_reaches_the_messenger_customer(
    channels: TestClient, platform: FakePlatform, channel: str
) -> None:
    conversation_id, recipient = _start(channels, channel)
    deliver(channels)
    before = len(platform.sent())
    _operator_writes(channels, conversation_id)
    assert deliver(channels) == 1
    [(path, to, text)] = _received(platform, channel)[before:]
    expected_path = {
        "telegram": "/sendMessage",
        "messenger": "/v21.0/me/messages",
        "whatsapp": f"/v21.0/{WA_PHONE_ID}/messages",
        "vk": "/method/messages.send",
    }[channel]
    assert path.endswith(expected_path)
    assert (to, text) == (recipient, REPLY)


def test_operator_reply_rolled_back_is_never_sent(
    channels: TestClient, platform: FakePlatform
) -> None:
    conversation_id, _ = _start(channels, "telegram")
    deliver(channels)
    outbox_before = count_rows(channels)["outbox"]
    _operator_writes(channels, conversation_id, commit=False)
    assert count_rows(channels)["outbox"] == outbox_before
    assert deliver(channels) == 0


def test_web_conversations_need_no_outbox(channels: TestClient) -> None:
    response = channels.post(
        "/v1/chat", json={"channel": "web", "user": {"id": "w1"}, "text": "hello"}
    )
    _operator_writes(channels, response.json()["conversation_id"])
    assert count_rows(channels)["outbox"] == 0


def test_customer_messages_during_a_handoff_get_no_bot_answer(
    channels: TestClient, platform: FakePlatform
) -> None:
    conversation_id, recipient = _start(channels, "telegram")
    with channels.app.state.session_factory() as session:  # type: ignore[attr-defined]
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status = "handoff"
        session.commit()
    deliver(channels)
    sent_before = len(platform.sent())
    tg_post(channels, tg_message(int(recipient), "any news?"))
    deliver(channels)
    new = [json.dumps(r.body) for r in platform.sent()[sent_before:]]
    assert all("any news" not in body for body in new)
    with channels.app.state.session_factory() as session:  # type: ignore[attr-defined]
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.status == "handoff"


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
def test_customer_asking_for_a_person_gets_the_operators_reply_in_the_messenger(
    channels: TestClient, platform: FakePlatform, channel: str
) -> None:
    from tests.factories import make_token

    user = next_id()
    if channel == "telegram":
        tg_post(channels, tg_message(user, "I want to talk to a human operator"))
        recipient = str(user)
    else:
        recipient = f"7900{user}"
        graph_post(
            channels,
            "whatsapp",
            wa_body(wa_text(recipient, "I want to talk to a human operator")),
        )
    deliver(channels)
    operator = make_token(channels, "operator")
    [waiting] = channels.get("/v1/handoffs", headers=operator).json()["items"]
    assert channels.post(f"/v1/handoffs/{waiting['id']}/claim", headers=operator).status_code == 200
    sent_before = len(platform.sent())
    response = channels.post(
        f"/v1/handoffs/{waiting['id']}/messages", json={"text": REPLY}, headers=operator
    )
    assert response.status_code == 201
    deliver(channels)
    assert [(to, text) for _, to, text in _received(platform, channel)[sent_before:]] == [
        (recipient, REPLY)
    ]
