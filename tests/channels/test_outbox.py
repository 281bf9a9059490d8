"""The outbox: retries with backoff, Retry-After, giving up, order per recipient, restarts,
and several senders sharing one database."""

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.channels.models import OutboxMessage
from app.channels.outbox import OutboxSender
from app.conversations.models import Conversation, Message
from app.db import utcnow
from tests.channels.conftest import deliver
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import next_id, outbox_rows, tg_message, tg_post

QUESTIONS = ["how do I pay by card", "how do I set up autopay", "how do I change my tariff"]


def bot_replies(client: TestClient, chat_id: int) -> list[str]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return list(
            session.scalars(
                select(Message.text)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.user_id == str(chat_id), Message.role == "bot")
                .order_by(Message.id)
            )
        )


def received_by(platform: FakePlatform, chat_id: int) -> list[str]:
    return [
        r.body["text"] for r in platform.sent("/sendMessage") if r.body["chat_id"] == str(chat_id)
    ]


def test_platform_down_then_up_delivers_everything_once_in_order(
    channels: TestClient, platform: FakePlatform
) -> None:
    platform.go_down(status=503)
    users = [next_id(), next_id()]
    for question in QUESTIONS:
        for user in users:
            tg_post(channels, tg_message(user, question))
    start = utcnow()
    for minute in range(0, 30, 3):  # half an hour of outage, retried with backoff
        assert deliver(channels, now=start + timedelta(minutes=minute)) == 0
    tried = {r.body["text"] for r in platform.all()}
    first_answers = {bot_replies(channels, user)[0] for user in users}
    assert tried == first_answers  # nobody's second message jumped the queue

    platform.come_back()
    assert deliver(channels, now=start + timedelta(hours=1)) == 6
    for user in users:
        assert received_by(platform, user) == bot_replies(channels, user)
    assert all(row.status == "sent" and row.sent_at for row in outbox_rows(channels))
    assert deliver(channels, now=start + timedelta(hours=2)) == 0  # nothing twice


def test_retry_after_on_429_is_honoured(channels: TestClient, platform: FakePlatform) -> None:
    platform.fail(1, status=429, headers={"Retry-After": "120"})
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    start = utcnow()
    assert deliver(channels, now=start) == 0
    assert deliver(channels, now=start + timedelta(seconds=110)) == 0
    assert len(platform.all()) == 1  # not even tried before the two minutes were up
    assert deliver(channels, now=start + timedelta(seconds=125)) == 1


def test_telegram_retry_after_in_the_body_is_honoured(
    channels: TestClient, platform: FakePlatform
) -> None:
    platform.fail(
        1, status=429, body={"ok": False, "error_code": 429, "parameters": {"retry_after": 600}}
    )
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    start = utcnow()
    deliver(channels, now=start)
    assert deliver(channels, now=start + timedelta(seconds=590)) == 0
    assert deliver(channels, now=start + timedelta(seconds=605)) == 1


def test_timeouts_and_server_errors_are_retried_with_backoff(
    channels: TestClient, platform: FakePlatform
) -> None:
    platform.hang(1, seconds=1.5)  # longer than the 0.5 s client timeout
    platform.fail(2, status=502)
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    start = utcnow()
    assert deliver(channels, now=start) == 0
    [row] = outbox_rows(channels)
    assert "Timeout" in (row.last_error or "")
    assert row.next_attempt_at > start
    later = start
    for _ in range(3):
        later += timedelta(minutes=10)
        deliver(channels, now=later)
    [row] = outbox_rows(channels)
    assert (row.status, row.attempts) == ("sent", 4)
    assert len(platform.sent("/sendMessage")) == 1


def test_backoff_grows_between_attempts(channels: TestClient, platform: FakePlatform) -> None:
    platform.go_down(status=500)
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    moment, waits = utcnow(), []
    for _ in range(5):
        deliver(channels, now=moment)
        [row] = outbox_rows(channels)
        waits.append((row.next_attempt_at - moment).total_seconds())
        moment = row.next_attempt_at
    assert waits == sorted(waits) and waits[-1] > waits[0] * 4


def test_message_is_marked_failed_after_max_age_and_stops_blocking(
    app_factory,
    platform: FakePlatform,  # type: ignore[no-untyped-def]
) -> None:
    client = app_factory(outbox_max_age_seconds=600)
    user = next_id()
    platform.go_down(status=500)
    tg_post(client, tg_message(user, "how do I pay by card"))
    start = utcnow()
    deliver(client, now=start)
    deliver(client, now=start + timedelta(minutes=11))
    [row] = outbox_rows(client)
    assert row.status == "failed"
    assert "gave up" in (row.last_error or "")
    platform.come_back()
    tg_post(client, tg_message(user, "how do I set up autopay"))
    assert deliver(client) == 1
    assert received_by(platform, user) == bot_replies(client, user)[1:]


def test_client_errors_fail_at_once(channels: TestClient, platform: FakePlatform) -> None:
    platform.fail(1, status=403, body={"ok": False, "description": "bot was blocked by the user"})
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    deliver(channels)
    [row] = outbox_rows(channels)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "blocked" in (row.last_error or "")
    assert deliver(channels, now=utcnow() + timedelta(days=1)) == 0


def test_errors_never_record_the_bot_token(channels: TestClient, platform: FakePlatform) -> None:
    from tests.channels.conftest import TG_TOKEN

    platform.fail(1, status=500, body={"description": f"bad path /bot{TG_TOKEN}/sendMessage"})
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    deliver(channels)
    [row] = outbox_rows(channels)
    assert TG_TOKEN not in (row.last_error or "")


def test_pending_messages_survive_a_restart(app_factory, platform: FakePlatform) -> None:  # type: ignore[no-untyped-def]
    first = app_factory()  # its sender loop is off: the reply stays in the outbox
    user = next_id()
    tg_post(first, tg_message(user, "how do I pay by card"))
    first.__exit__(None, None, None)
    assert platform.all() == []

    app_factory(outbox_sender_enabled=True, outbox_poll_seconds=0.1)  # a new process, same DB
    delivered = platform.wait_for(1, "/sendMessage")
    assert [r.body["chat_id"] for r in delivered] == [str(user)]


def test_background_sender_delivers_new_replies_without_being_asked(
    app_factory,
    platform: FakePlatform,  # type: ignore[no-untyped-def]
) -> None:
    client = app_factory(outbox_sender_enabled=True, outbox_poll_seconds=30)
    user = next_id()
    tg_post(client, tg_message(user, "how do I pay by card"))
    # The commit wakes the sender; with a 30 s poll it would otherwise still be asleep.
    assert len(platform.wait_for(1, "/sendMessage", timeout=15)) == 1


def test_expired_lease_of_a_dead_worker_is_taken_over(
    channels: TestClient, platform: FakePlatform
) -> None:
    tg_post(channels, tg_message(next_id(), "how do I pay by card"))
    start = utcnow()
    with channels.app.state.session_factory() as session:  # type: ignore[attr-defined]
        session.execute(
            update(OutboxMessage).values(
                lease_owner="dead-worker", lease_until=start + timedelta(seconds=60), attempts=1
            )
        )
        session.commit()
    assert deliver(channels, now=start) == 0
    assert deliver(channels, now=start + timedelta(seconds=61)) == 1


def test_racing_senders_deliver_each_message_once_and_in_order(
    channels: TestClient, platform: FakePlatform
) -> None:
    users = [next_id() for _ in range(4)]
    for question in QUESTIONS:
        for user in users:
            tg_post(channels, tg_message(user, question))
    state = channels.app.state  # type: ignore[attr-defined]
    senders = [
        OutboxSender(session_factory=state.session_factory, settings=state.settings)
        for _ in range(3)
    ]
    barrier = threading.Barrier(len(senders))

    def run(sender: OutboxSender) -> None:
        barrier.wait()
        sender.deliver_due()

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for sender in senders:
        sender.close()
    assert len(platform.sent("/sendMessage")) == len(users) * len(QUESTIONS)
    for user in users:
        assert received_by(platform, user) == bot_replies(channels, user)
