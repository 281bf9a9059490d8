"""Telegram: the webhook, the secret header, replies through sendMessage, inline keyboards."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.conversations.models import Message
from app.db import utcnow
from tests.channels.conftest import TG_TOKEN, deliver
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import (
    conversations,
    count_rows,
    next_id,
    tg_callback,
    tg_message,
    tg_post,
)

SEND = f"/bot{TG_TOKEN}/sendMessage"


def test_text_message_is_answered_through_send_message(
    channels: TestClient, platform: FakePlatform
) -> None:
    user = next_id()
    response = tg_post(channels, tg_message(user, "how do I pay by card"))
    assert response.status_code == 200
    assert deliver(channels) == 1
    [sent] = platform.sent("/sendMessage")
    assert sent.path == SEND
    assert sent.body["chat_id"] == str(user)
    assert "Mir, Visa and Mastercard" in sent.body["text"]
    assert "reply_markup" not in sent.body
    [conversation] = conversations(channels, "telegram")
    assert conversation.user_id == str(user)
    assert conversation.user_name == "Ann Lee"
    assert conversation.meta["telegram"]["language_code"] == "en"


def test_choices_arrive_as_inline_keyboard_and_a_tap_answers(
    clarifying: TestClient, platform: FakePlatform
) -> None:
    user = next_id()
    tg_post(clarifying, tg_message(user, "how do I pay by card"))
    deliver(clarifying)
    [offer] = platform.sent("/sendMessage")
    keyboard = offer.body["reply_markup"]["inline_keyboard"]
    assert len(keyboard) == 3
    first = keyboard[0][0]
    assert first["callback_data"] == "pay-by-card-en"

    tap = tg_callback(user, first["callback_data"], offer.body["reply_markup"])
    assert tg_post(clarifying, tap).status_code == 200
    deliver(clarifying)
    [answered_tap] = platform.sent("/answerCallbackQuery")
    assert answered_tap.body == {"callback_query_id": tap["callback_query"]["id"]}
    answer = platform.sent("/sendMessage")[-1]
    assert "Mir, Visa and Mastercard" in answer.body["text"]
    [conversation] = conversations(clarifying, "telegram")  # the tap continued it
    assert conversation.pending_choices == []


def test_long_article_ids_are_mapped_into_64_byte_callback_data(
    app_factory, platform: FakePlatform
) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_article

    client = app_factory(answer_threshold=0.99, handoff_threshold=0.0)
    long_id = "how-to-connect-the-router-" + "x" * 60
    make_article(
        client,
        long_id,
        title="Connect the router to the fiber socket",
        body="Plug the green cable into the socket.",
        questions=["how do I connect the router to the fiber socket"],
    )
    user = next_id()
    tg_post(client, tg_message(user, "connect the router to the fiber socket"))
    deliver(client)
    markup = platform.sent("/sendMessage")[-1].body["reply_markup"]
    datas = [row[0]["callback_data"] for row in markup["inline_keyboard"]]
    assert all(len(d.encode()) <= 64 for d in datas)
    mapped = next(d for d in datas if d.startswith("#"))
    tg_post(client, tg_callback(user, mapped, markup))
    deliver(client)
    assert platform.sent("/sendMessage")[-1].body["text"] == "Plug the green cable into the socket."


def test_repeated_update_id_is_processed_once(channels: TestClient, platform: FakePlatform) -> None:
    update = tg_message(next_id(), "how do I pay by card")
    for _ in range(3):
        assert tg_post(channels, update).status_code == 200
    assert count_rows(channels)["messages"] == 2  # one question, one answer
    deliver(channels)
    assert len(platform.sent("/sendMessage")) == 1


def test_forged_secret_gets_403_and_stores_nothing(channels: TestClient) -> None:
    response = tg_post(channels, tg_message(next_id(), "hello"), secret="not-the-secret")
    assert response.status_code == 403
    assert count_rows(channels) == {"conversations": 0, "messages": 0, "outbox": 0}


def test_missing_secret_gets_401_and_stores_nothing(channels: TestClient) -> None:
    response = tg_post(channels, tg_message(next_id(), "hello"), secret=None)
    assert response.status_code == 401
    assert count_rows(channels) == {"conversations": 0, "messages": 0, "outbox": 0}


def test_malformed_updates_are_acknowledged_and_ignored(channels: TestClient) -> None:
    for raw in (
        b"not json",
        b"[]",
        b'{"update_id": "x"}',
        b'{"update_id": 5, "message": 7}',
        b'{"update_id": 6, "message": {"message_id": 1, "chat": {"id": 1}}}',
    ):
        response = tg_post(channels, None, raw=raw)
        assert response.status_code == 200, raw
    assert count_rows(channels) == {"conversations": 0, "messages": 0, "outbox": 0}


def test_start_command_is_greeted(channels: TestClient, platform: FakePlatform) -> None:
    tg_post(channels, tg_message(next_id(), "/start", language="ru"))
    deliver(channels)
    [sent] = platform.sent("/sendMessage")
    assert sent.body["text"]
    [conversation] = conversations(channels, "telegram")
    assert conversation.language == "ru"


def test_messages_continue_the_open_conversation(channels: TestClient) -> None:
    user = next_id()
    tg_post(channels, tg_message(user, "how do I pay by card"))
    tg_post(channels, tg_message(user, "and what about autopay"))
    assert len(conversations(channels, "telegram")) == 1
    tg_post(channels, tg_message(next_id(), "hello"))
    assert len(conversations(channels, "telegram")) == 2


def test_quiet_conversation_is_not_continued_after_idle_time(channels: TestClient) -> None:
    user = next_id()
    tg_post(channels, tg_message(user, "how do I pay by card"))
    with channels.app.state.session_factory() as session:  # type: ignore[attr-defined]
        session.execute(update(Message).values(created_at=utcnow() - timedelta(days=2)))
        session.commit()
    tg_post(channels, tg_message(user, "how do I pay by card"))
    assert len(conversations(channels, "telegram")) == 2


def test_channel_without_settings_answers_404(app_factory) -> None:  # type: ignore[no-untyped-def]
    client = app_factory(telegram_bot_token=None)
    response = tg_post(client, tg_message(next_id(), "hello"))
    assert response.status_code == 404
    assert count_rows(client)["messages"] == 0
