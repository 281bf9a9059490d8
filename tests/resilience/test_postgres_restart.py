"""PostgreSQL restarted under load: while it is down every chat request gets a quick, clear 503
(never a 500, never a hang); once it is back the same uvicorn workers answer again on their own;
and every message that was acknowledged with a 200 is in the conversation's transcript.

The restart is of a private cluster (tests/resilience/postgres_cluster.py), not the shared
server the rest of the suite uses.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text

from app.db import make_engine
from tests.conftest import LiveServer, live_env, make_settings, new_user
from tests.resilience.checks import (
    QUESTIONS,
    assert_database_unavailable,
    assert_whole_turns,
    customer_texts,
    transcript,
)
from tests.resilience.postgres_cluster import PrivateCluster
from tests.resilience.processes import wait_for_workers, worker_pids

CUSTOMERS = 3
REQUEST_TIMEOUT = 10.0  # a request slower than this is a hang, and fails the test


@dataclass
class Customer:
    """A widget user who writes one message after another and, on a 503, sends it again."""

    url: str
    user: dict[str, str] = field(default_factory=new_user)
    conversation_id: str | None = None
    acknowledged: list[str] = field(default_factory=list)
    # (when it was sent, status code, response or the transport error)
    attempts: list[tuple[float, int | None, httpx.Response | Exception]] = field(
        default_factory=list
    )

    def acknowledged_since(self, moment: float) -> int:
        return sum(1 for sent, status, _ in self.attempts if sent >= moment and status == 200)

    def refused(self) -> int:
        return sum(1 for _, status, _ in self.attempts if status == 503)

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT) as http:
            while not stop.is_set():
                number = len(self.acknowledged)
                text = f"{QUESTIONS[number % len(QUESTIONS)]} (message {number})"
                body = {"user": self.user, "text": text}
                if self.conversation_id:
                    body["conversation_id"] = self.conversation_id
                sent = time.monotonic()
                try:
                    response = http.post("/v1/chat", json=body)
                except httpx.TransportError as exc:
                    self.attempts.append((sent, None, exc))
                    time.sleep(0.1)
                    continue
                self.attempts.append((sent, response.status_code, response))
                if response.status_code == 200:
                    self.conversation_id = response.json()["conversation_id"]
                    self.acknowledged.append(text)
                else:
                    time.sleep(0.1)  # the widget waits a moment before sending again


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _once(messages: list[str]) -> list[str]:
    """A message twice in a row collapses to once: a commit that reached the server just as it
    went down is stored, but its client got a 503 and sent it again. Nothing acknowledged is
    lost that way; the client was never told the first copy was stored."""
    return [text for i, text in enumerate(messages) if i == 0 or messages[i - 1] != text]


@pytest.fixture
def server_on_private_postgres(private_postgres: PrivateCluster) -> Iterator[LiveServer]:
    """Two uvicorn workers on the private cluster, stopped however the test ends."""
    # No handoffs (threshold 0): the bot replies to every turn, so each stored turn is whole.
    env = live_env(make_settings(private_postgres.url), ANSWERDESK_HANDOFF_THRESHOLD="0")
    server = LiveServer(env, workers=2)
    yield server
    server.stop()


@pytest.mark.live
def test_postgres_restart_gives_clear_503s_then_recovers_without_losing_acknowledged_messages(
    private_postgres: PrivateCluster, server_on_private_postgres: LiveServer
) -> None:
    server = server_on_private_postgres
    workers = wait_for_workers(server.process.pid, 2)
    stop = threading.Event()
    customers = [Customer(server.url) for _ in range(CUSTOMERS)]
    threads = [threading.Thread(target=c.run, args=(stop,)) for c in customers]
    try:
        for thread in threads:
            thread.start()
        _wait(lambda: all(len(c.acknowledged) >= 2 for c in customers), 20, "all are chatting")

        private_postgres.stop("fast")
        went_down = time.monotonic()
        _wait(lambda: all(c.refused() >= 2 for c in customers), 10, "everyone got 503s")
        time.sleep(max(0.0, 1.5 - (time.monotonic() - went_down)))
        private_postgres.start()
        came_back = time.monotonic()
        _wait(
            lambda: all(c.acknowledged_since(came_back) >= 3 for c in customers),
            20,
            "everyone is answered again",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)

    assert server.process.poll() is None  # the same uvicorn...
    assert worker_pids(server.process.pid) == workers  # ...and the same workers
    for customer in customers:
        statuses = {status for _, status, _ in customer.attempts}
        assert statuses <= {200, 503}, statuses  # no 500, no broken connection, no hang
        refused = [r for _, status, r in customer.attempts if status == 503]
        assert refused, "the outage was not seen"
        for response in refused:
            assert isinstance(response, httpx.Response)
            assert_database_unavailable(response)
            assert response.elapsed.total_seconds() < 5  # told at once, not left waiting
        # Recovered by itself, at once: pooled connections that died with the old server
        # are refused on checkout and replaced (app/db.py), so none fails a request.
        after = [status for sent, status, _ in customer.attempts if sent >= came_back]
        assert after and set(after) == {200}, after

    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as http:
        for customer in customers:
            assert customer.conversation_id is not None
            stored = transcript(http, customer.conversation_id)
            assert _once(customer_texts(stored)) == customer.acknowledged
            assert_whole_turns(stored)


def test_pool_replaces_connections_that_died_in_a_restart(
    private_postgres: PrivateCluster,
) -> None:
    """A quiet restart (no request saw the outage, so nothing invalidated the pool): the first
    query afterwards still succeeds, because a pooled connection the server closed is refused
    on checkout and replaced."""
    engine = make_engine(private_postgres.url)
    try:
        held = [engine.connect() for _ in range(3)]
        for connection in held:
            connection.execute(text("SELECT 1"))
            connection.close()  # back to the pool, open, bound to the server about to go
        private_postgres.stop("fast")
        private_postgres.start()
        for _ in range(3):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
