"""Two uvicorn workers with their own outbox senders on one database: every reply is sent once,
in order per chat."""

import httpx
import pytest
from sqlalchemy import create_engine, select

from app.conversations.models import Conversation, Message
from app.settings import Settings
from tests.channels.conftest import TG_SECRET, TG_TOKEN
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import next_id, tg_message

QUESTIONS = ["how do I pay by card", "how do I set up autopay", "how do I change my tariff"]


@pytest.mark.live
def test_two_workers_send_each_reply_once_in_order(
    live_server_factory,  # type: ignore[no-untyped-def]
    platform: FakePlatform,
    settings: Settings,
) -> None:
    platform.fail(3, status=503)  # a short outage while the first replies go out
    server = live_server_factory(
        workers=2,
        ANSWERDESK_TELEGRAM_BOT_TOKEN=TG_TOKEN,
        ANSWERDESK_TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        ANSWERDESK_TELEGRAM_API_BASE=platform.url,
        ANSWERDESK_OUTBOX_POLL_SECONDS="0.2",
        ANSWERDESK_OUTBOX_RETRY_BASE_SECONDS="0.2",
        ANSWERDESK_OUTBOX_RETRY_MAX_SECONDS="1",
    )
    users = [next_id(), next_id(), next_id()]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for question in QUESTIONS:
            for user in users:
                response = http.post(
                    "/webhooks/telegram",
                    json=tg_message(user, question),
                    headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                )
                assert response.status_code == 200
    expected = len(users) * len(QUESTIONS)
    sent = platform.wait_for(expected, "/sendMessage", timeout=60)
    assert len(sent) == expected
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        for user in users:
            replies = connection.scalars(
                select(Message.text)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.user_id == str(user), Message.role == "bot")
                .order_by(Message.id)
            ).all()
            texts = [r.body["text"] for r in sent if r.body["chat_id"] == str(user)]
            assert texts == list(replies)
    engine.dispose()
