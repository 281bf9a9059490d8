"""The messenger's API is away for a while: first it refuses connections, then it answers 503
to everything, then it is back. Bot replies and operator replies written meanwhile wait in the
outbox and then reach each customer, in order, exactly once.

Compressed: the outage lasts about 3 s instead of a minute, and the outbox's timings shrink
with it (poll 1 s -> 0.2 s, retry backoff base 2 s -> 0.2 s, cap 300 s -> 1 s). The first
message to each customer fails about as often as in a real minute (six to eight attempts; with
the default timings, six in sixty seconds), and the senders run as in production: two uvicorn
workers, each with its own background sender, on real time.
"""

import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from app.channels.models import OutboxMessage
from app.conversations.models import Conversation, Message
from tests.channels.conftest import TG_SECRET, TG_TOKEN
from tests.channels.fake_platform import FakePlatform, start_fake_platform
from tests.channels.payloads import next_id, tg_message
from tests.resilience.checks import QUESTIONS

OPERATOR_REPLIES = ["Hi, this is Maria from support.", "I have refunded the double charge."]
REFUSING_SECONDS = 1.5
ERRORING_SECONDS = 1.5


class SwitchablePlatform:
    """The fake platform on a port that can be closed (connections refused) and opened again."""

    def __init__(self) -> None:
        self.fake, self._server = start_fake_platform()
        self._port = self._server.server_address[1]
        self._handler = self._server.RequestHandlerClass
        self._up = True

    def unplug(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._up = False

    def plug_in(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._up = True

    def close(self) -> None:
        if self._up:
            self.unplug()


@pytest.fixture
def switchable() -> Iterator[SwitchablePlatform]:
    platform = SwitchablePlatform()
    yield platform
    platform.close()


def _webhook(http: httpx.Client, user: int, text: str) -> None:
    response = http.post(
        "/webhooks/telegram",
        json=tg_message(user, text),
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
    )
    assert response.status_code == 200, response.text  # Telegram will not send it again


def _replies_in_transcript(database_url: str, user: int) -> list[str]:
    """What the customer should have received: the bot's and the operator's messages."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        texts = connection.scalars(
            select(Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.user_id == str(user), Message.role != "customer")
            .order_by(Message.id)
        ).all()
    engine.dispose()
    return list(texts)


def _outbox(database_url: str) -> list[Any]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    engine.dispose()
    return list(rows)


def _received(platform: FakePlatform, user: int) -> list[str]:
    return [r.text for r in platform.sent("/sendMessage") if r.body["chat_id"] == str(user)]


@pytest.mark.live
def test_messenger_down_then_back_gets_every_reply_in_order_exactly_once(
    live_server_factory,  # type: ignore[no-untyped-def]
    switchable: SwitchablePlatform,
    admin_headers: dict[str, str],
    database_url: str,
) -> None:
    platform = switchable.fake
    server = live_server_factory(
        workers=2,
        ANSWERDESK_TELEGRAM_BOT_TOKEN=TG_TOKEN,
        ANSWERDESK_TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        ANSWERDESK_TELEGRAM_API_BASE=platform.url,
        ANSWERDESK_OUTBOX_POLL_SECONDS="0.2",
        ANSWERDESK_OUTBOX_RETRY_BASE_SECONDS="0.2",
        ANSWERDESK_OUTBOX_RETRY_MAX_SECONDS="1",
        ANSWERDESK_OUTBOX_HTTP_TIMEOUT_SECONDS="1",
    )
    asker, escalator = next_id(), next_id()
    switchable.unplug()  # connections refused from here on
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for question in QUESTIONS:  # three bot answers for one customer
            _webhook(http, asker, question)
        _webhook(http, escalator, "позовите оператора")  # the other wants a person
        [waiting] = http.get(
            "/v1/handoffs", params={"status": "waiting"}, headers=admin_headers
        ).json()["items"]
        claimed = http.post(f"/v1/handoffs/{waiting['id']}/claim", headers=admin_headers)
        assert claimed.status_code == 200, claimed.text
        for text in OPERATOR_REPLIES:
            sent = http.post(
                f"/v1/handoffs/{waiting['id']}/messages", json={"text": text}, headers=admin_headers
            )
            assert sent.status_code == 201, sent.text

        time.sleep(REFUSING_SECONDS)
        assert platform.all() == []  # nothing got through a closed port
        platform.go_down(status=503)  # reachable again, but failing
        switchable.plug_in()
        time.sleep(ERRORING_SECONDS)
        assert platform.all() and platform.sent() == []  # tried again, nothing accepted
        platform.come_back()

        expected = {user: _replies_in_transcript(database_url, user) for user in (asker, escalator)}
        assert len(expected[asker]) == len(QUESTIONS)
        assert expected[escalator][-2:] == OPERATOR_REPLIES
        total = sum(len(texts) for texts in expected.values())
        assert len(platform.wait_for(total, "/sendMessage", timeout=15)) == total
        time.sleep(1)  # a duplicate would come within a poll or two

    for user, texts in expected.items():
        assert _received(platform, user) == texts  # in order, each once
    assert len(platform.sent()) == total  # nothing sent twice, nothing else sent
    rows = _outbox(database_url)
    assert [row.status for row in rows] == ["sent"] * total
    assert max(row.attempts for row in rows) >= 4  # the outage was felt, and retried through
