"""A uvicorn worker killed with SIGKILL in the middle of requests: its clients see a broken
connection (never a wrong answer), the other worker keeps answering, the supervisor starts a
new worker that answers too, every acknowledged message is stored, and the dead worker's turns
left no trace."""

import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, count_rows, new_user
from tests.resilience.checks import (
    QUESTIONS,
    assert_whole_turns,
    customer_texts,
    integrity_check,
    sqlite_file,
    transcript,
    writes_blocked,
)
from tests.resilience.processes import (
    accepted_connections,
    wait_for_workers,
    wait_gone,
    worker_pids,
)

# Requests inside the workers when one is killed: at least this many, more (up to the cap) until
# both workers hold some, so that the survivor's own requests are seen to complete.
IN_FLIGHT = 8
MAX_IN_FLIGHT = 24


def _post_chat(url: str, user: dict[str, str], question: str) -> dict[str, Any]:
    """One customer's first message; the outcome as the client saw it."""
    with httpx.Client(base_url=url, timeout=30) as http:
        try:
            response = http.post("/v1/chat", json={"user": user, "text": question})
        except httpx.TransportError as exc:
            return {"user": user, "text": question, "error": exc}
    return {"user": user, "text": question, "response": response}


def _answered_by(url: str, worker: int, timeout: float = 20.0) -> int:
    """Chats on fresh connections, which the kernel spreads over the workers, until `worker`
    answers one (the debug field names the process); returns how many requests that took."""
    deadline = time.monotonic() + timeout
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        with httpx.Client(base_url=url, timeout=30) as http:
            response = http.post(
                "/v1/chat?debug=true", json={"user": new_user(), "text": QUESTIONS[0]}
            )
        assert response.status_code == 200, response.text
        if response.json()["debug"]["worker"] == worker:
            return tries
        time.sleep(0.1)  # a new worker builds its index before it accepts anything
    return 0


@pytest.mark.live
def test_killed_worker_breaks_only_its_own_requests_and_loses_no_acknowledged_message(
    live_server_factory,  # type: ignore[no-untyped-def]
    database_url: str,
) -> None:
    server: LiveServer = live_server_factory(workers=2)
    supervisor = server.process.pid
    workers = wait_for_workers(supervisor, 2)
    assert len(workers) == 2, workers
    outcomes: list[dict[str, Any]] = []

    def send(user: dict[str, str], question: str) -> None:
        outcomes.append(_post_chat(server.url, user, question))

    with writes_blocked(database_url):
        threads: list[threading.Thread] = []

        def held() -> list[int]:
            return [accepted_connections(pid, server.port) for pid in workers]

        while len(threads) < IN_FLIGHT or (min(held()) == 0 and len(threads) < MAX_IN_FLIGHT):
            for _ in range(4):
                question = QUESTIONS[len(threads) % len(QUESTIONS)]
                threads.append(threading.Thread(target=send, args=(new_user(), question)))
                threads[-1].start()
            deadline = time.monotonic() + 10
            while sum(held()) < len(threads):
                assert time.monotonic() < deadline, "the requests never reached the workers"
                time.sleep(0.05)
        time.sleep(0.3)  # each worker has read its requests and waits on the database
        victim = max(workers, key=lambda pid: accepted_connections(pid, server.port))
        victims_requests = accepted_connections(victim, server.port)
        os.kill(victim, signal.SIGKILL)
        wait_gone(victim)
    for thread in threads:
        thread.join(timeout=30)

    broken = [o for o in outcomes if "error" in o]
    answered = [o for o in outcomes if "response" in o]
    assert len(outcomes) == len(threads)
    assert victims_requests >= 1
    assert len(broken) == victims_requests, broken  # exactly the dead worker's requests
    for outcome in broken:  # a broken connection, not a timeout or a made-up answer
        assert not isinstance(outcome["error"], httpx.TimeoutException), outcome["error"]
    for outcome in answered:
        response = outcome["response"]
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "answered" and response.json()["reply"]

    with httpx.Client(base_url=server.url, timeout=30) as http:
        # The survivor answers at once; the supervisor brings the second worker back.
        for question in QUESTIONS:
            reply = http.post("/v1/chat", json={"user": new_user(), "text": question})
            assert reply.status_code == 200, reply.text
        restarted = wait_for_workers(supervisor, 2)
        assert len(restarted) == 2 and victim not in restarted, restarted
        assert server.process.poll() is None  # the same uvicorn, never restarted by us
        [newcomer] = set(restarted) - set(workers)
        assert _answered_by(server.url, newcomer), "the new worker never answered"

        for outcome in answered:  # every acknowledged message is stored, with its reply
            body = outcome["response"].json()
            stored = transcript(http, body["conversation_id"])
            assert customer_texts(stored) == [outcome["text"]]
            assert_whole_turns(stored)
            assert stored[1][1] == body["reply"]
    for outcome in broken:  # the killed worker's turns were rolled back whole
        assert count_rows(database_url, "conversations", user_id=outcome["user"]["id"]) == 0
    if database_url.startswith("sqlite"):
        assert integrity_check(sqlite_file(database_url)) == "ok"
    assert worker_pids(supervisor) == restarted
