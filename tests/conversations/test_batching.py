"""Chat messages waiting at the same moment share one transaction, and each is answered as if
it had been alone (app/conversations/batcher.py, app/conversations/turns.py)."""

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from app.conversations.batcher import Batcher
from tests.conftest import count_rows, new_user
from tests.resilience.checks import assert_database_unavailable, transcript, writes_blocked

Job = tuple[str, str]


def test_jobs_waiting_together_share_a_batch_but_a_group_takes_one_place_in_it() -> None:
    batches: list[list[Job]] = []
    first_running, release = threading.Event(), threading.Event()

    def run(jobs: Sequence[Job]) -> list[str | Exception]:
        batches.append(list(jobs))
        if len(batches) == 1:
            first_running.set()
            release.wait(10)
        return [ValueError(text) if text == "bad" else f"{group}:{text}" for group, text in jobs]

    async def scenario() -> list[object]:
        with Batcher(run, threads=1, batch_size=8, group=lambda job: job[0]) as batcher:
            first = asyncio.ensure_future(batcher.submit(("a", "1")))
            await asyncio.to_thread(first_running.wait, 10)
            later = [
                asyncio.ensure_future(batcher.submit(job))
                for job in [("b", "1"), ("a", "2"), ("a", "3"), ("c", "bad"), ("d", "1")]
            ]
            await asyncio.sleep(0.1)  # all five are queued behind the first
            release.set()
            return await asyncio.gather(first, *later, return_exceptions=True)

    results = asyncio.run(scenario())
    assert batches == [
        [("a", "1")],
        [("b", "1"), ("a", "2"), ("c", "bad"), ("d", "1")],
        [("a", "3")],  # the same group waited for the next batch, keeping its order
    ]
    assert results[:4] == ["a:1", "b:1", "a:2", "a:3"]
    assert isinstance(results[4], ValueError)  # only its own caller hears of its error
    assert results[5] == "d:1"


def test_a_lone_job_runs_at_once_and_a_failing_run_reaches_every_caller() -> None:
    def run(jobs: Sequence[str]) -> list[str]:
        if "explode" in jobs:
            raise RuntimeError("the run failed")
        return [job.upper() for job in jobs]

    async def scenario() -> tuple[str, BaseException]:
        with Batcher(run, threads=2, batch_size=4) as batcher:
            alone = await batcher.submit("alone")
            with pytest.raises(RuntimeError) as failed:
                await batcher.submit("explode")
            return alone, failed.value

    alone, error = asyncio.run(scenario())
    assert alone == "ALONE" and str(error) == "the run failed"


def _post(http: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return http.post("/v1/chat", json=body, headers=headers)


def _batches(http: httpx.Client) -> tuple[float, float]:
    """(chat messages, transactions) from /metrics' batch histogram."""
    metrics = http.get("/metrics").text
    total = re.search(r"^answerdesk_chat_batch_turns_sum ([\d.e+]+)$", metrics, re.M)
    count = re.search(r"^answerdesk_chat_batch_turns_count ([\d.e+]+)$", metrics, re.M)
    assert total and count, metrics
    return float(total.group(1)), float(count.group(1))


def _queue_behind_a_blocked_write(
    http: httpx.Client, database_url: str, requests: list[tuple[dict[str, Any], str | None]]
) -> tuple[httpx.Response, list[httpx.Response]]:
    """Sends one message whose write waits, then `requests` in order while it waits: they
    queue up in the worker and run together once the write goes through."""
    with ThreadPoolExecutor(len(requests) + 1) as pool:
        with writes_blocked(database_url):
            first = pool.submit(_post, http, {"channel": "web", "user": new_user(), "text": "hi"})
            time.sleep(0.5)  # decided, now waiting for the write lock
            queued: list[Future[httpx.Response]] = []
            for body, key in requests:
                queued.append(pool.submit(_post, http, body, key))
                time.sleep(0.1)  # in this order
            time.sleep(0.5)
            assert not first.done() and not any(q.done() for q in queued)
        return first.result(), [q.result() for q in queued]


def test_messages_waiting_together_are_stored_in_one_transaction_each_answered_as_alone(
    live_server_factory, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    server = live_server_factory(ANSWERDESK_CHAT_THREADS="1")
    known, newcomer = new_user(), new_user()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        opened = _post(http, {"channel": "web", "user": known, "text": "hello"}).json()
        conversation = opened["conversation_id"]
        before = _batches(http)
        first, answers = _queue_behind_a_blocked_write(
            http,
            database_url,
            [
                ({"channel": "web", "user": known, "text": "how do I pay by card",
                  "conversation_id": conversation}, None),
                ({"channel": "web", "user": newcomer, "text": "how do I change my tariff"}, None),
                ({"channel": "web", "user": new_user(), "text": "hello?",
                  "conversation_id": "no-such-conversation"}, None),
                ({"channel": "web", "user": known, "text": "how do I set up autopay",
                  "conversation_id": conversation}, None),
            ],
        )  # fmt: skip
        assert first.status_code == 200, first.text
        card, tariff, unknown, autopay = answers
        assert [card.status_code, tariff.status_code, autopay.status_code] == [200] * 3
        assert unknown.status_code == 404
        assert unknown.json()["type"] == "/problems/not-found"
        assert card.json()["status"] == tariff.json()["status"] == "answered"
        assert card.json()["conversation_id"] == autopay.json()["conversation_id"] == conversation
        assert transcript(http, conversation)[2:] == [
            ("customer", "how do I pay by card"),
            ("bot", card.json()["reply"]),
            ("customer", "how do I set up autopay"),
            ("bot", autopay.json()["reply"]),
        ]
        assert [role for role, _ in transcript(http, tariff.json()["conversation_id"])] == [
            "customer",
            "bot",
        ]
        turns, transactions = (a - b for a, b in zip(_batches(http), before, strict=True))
    # Five turns (the 404 counts: it was taken with the others) in three transactions: the
    # blocked one; then the card, the tariff and the unknown conversation together; then the
    # second message of the card's conversation, which waited for its first to be stored.
    assert (turns, transactions) == (5, 3)


def test_a_retry_in_the_same_batch_as_its_first_request_is_stored_once(
    live_server_factory, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    # Both look for a receipt before either is stored: the batch's commit fails on the second
    # receipt, the batch is rolled back and each turn then runs alone, as a single request.
    server = live_server_factory(ANSWERDESK_CHAT_THREADS="1")
    customer, other = new_user(), new_user()
    body = {"channel": "web", "user": customer, "text": "how do I pay by card"}
    key = str(uuid.uuid4())
    with httpx.Client(base_url=server.url, timeout=30) as http:
        _, answers = _queue_behind_a_blocked_write(
            http,
            database_url,
            [(body, key), ({"channel": "web", "user": other, "text": "hi"}, None), (body, key)],
        )
        first, bystander, retry = answers
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        assert retry.json() == first.json()
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert transcript(http, first.json()["conversation_id"]) == [
            ("customer", "how do I pay by card"),
            ("bot", first.json()["reply"]),
        ]
        assert len(transcript(http, bystander.json()["conversation_id"])) == 2
    assert count_rows(database_url, "conversations", user_id=customer["id"]) == 1
    assert count_rows(database_url, "chat_receipts") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_that_finds_the_database_locked_answers_every_message_503_at_once(
    live_server_factory, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    # Only SQLite gives up on a lock (its busy timeout); PostgreSQL's writes wait for it.
    server = live_server_factory(ANSWERDESK_SQLITE_BUSY_TIMEOUT_SECONDS="1")
    users = [new_user() for _ in range(5)]
    with (
        httpx.Client(base_url=server.url, timeout=30) as http,
        ThreadPoolExecutor(5) as pool,
        writes_blocked(database_url),  # far longer than the busy timeout
    ):
        started = time.monotonic()
        first = pool.submit(_post, http, {"channel": "web", "user": users[0], "text": "hi"})
        time.sleep(0.3)  # the others queue behind it and then share a batch
        queued = [
            pool.submit(_post, http, {"channel": "web", "user": user, "text": "hello"})
            for user in users[1:]
        ]
        answers = [first.result(), *(q.result() for q in queued)]
        answered_after = time.monotonic() - started
    for answer in answers:
        assert_database_unavailable(answer)
    # One busy timeout per batch: run alone, each of the four would have waited its own.
    assert answered_after < 3.5
    for user in users:
        assert count_rows(database_url, "conversations", user_id=user["id"]) == 0
