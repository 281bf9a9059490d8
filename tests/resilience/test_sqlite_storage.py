"""SQLite under a long lock and out of space: a clear 503, nothing half-stored, the file whole.

These failures belong to SQLite's single file, so the tests run on SQLite only; PostgreSQL's
outage is tests/resilience/test_postgres_restart.py.
"""

import errno
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.main import create_app
from tests.channels.conftest import channel_overrides
from tests.channels.payloads import count_rows, next_id, tg_message, tg_post
from tests.conftest import make_settings, new_user
from tests.factories import chat
from tests.resilience.checks import (
    QUESTIONS,
    assert_database_unavailable,
    assert_whole_turns,
    customer_texts,
    integrity_check,
    sqlite_file,
    sqlite_write_lock,
    transcript,
)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BUSY_TIMEOUT_SECONDS = 1.0  # the default is 10 s; the behaviour is the same, only sooner


@pytest.fixture
def open_app() -> Callable[[str], AbstractContextManager[TestClient]]:
    """The app with the demo knowledge base on `database_url` and a one-second busy timeout."""

    @contextmanager
    def start(database_url: str) -> Iterator[TestClient]:
        settings = make_settings(database_url, sqlite_busy_timeout_seconds=BUSY_TIMEOUT_SECONDS)
        with TestClient(create_app(settings)) as client:
            yield client

    return start


def _next_turn(conversation: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "channel": "web",
        "user": conversation["user"],
        "conversation_id": conversation["conversation_id"],
        "text": text,
    }


def _first_turn(client: TestClient) -> dict[str, Any]:
    user = new_user()
    reply = chat(client, QUESTIONS[0], user=user)
    return {"user": user, "conversation_id": reply["conversation_id"]}


@SQLITE_ONLY
def test_locked_database_gives_503_then_the_same_request_succeeds(
    database_url: str, open_app: Callable[[str], AbstractContextManager[TestClient]]
) -> None:
    path = sqlite_file(database_url)
    with open_app(database_url) as client:
        conversation = _first_turn(client)
        second = _next_turn(conversation, QUESTIONS[1])
        with sqlite_write_lock(path):  # held far longer than the busy timeout
            started = time.monotonic()
            refused = client.post("/v1/chat", json=second)
            waited = time.monotonic() - started
            assert_database_unavailable(refused)
            assert waited < BUSY_TIMEOUT_SECONDS + 5  # the busy timeout, not a hang
            # Reads still work while the writer holds the lock (WAL), and show nothing new.
            assert customer_texts(transcript(client, conversation["conversation_id"])) == [
                QUESTIONS[0]
            ]
        stored = transcript(client, conversation["conversation_id"])
        assert customer_texts(stored) == [QUESTIONS[0]]

        retried = client.post("/v1/chat", json=second)
        assert retried.status_code == 200, retried.text
        stored = transcript(client, conversation["conversation_id"])
        assert customer_texts(stored) == QUESTIONS[:2]
        assert_whole_turns(stored)
    assert integrity_check(path) == "ok"


@contextmanager
def _tiny_disk(mount_point: Path, megabytes: int) -> Iterator[Path]:
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> Path:
    """Writes a file until the filesystem refuses another byte; returns it."""
    filler = disk / "filler.bin"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    with open(filler, "ab", buffering=0) as out:  # the last partial page, byte by byte
        try:
            while True:
                out.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def test_full_disk_gives_503_and_keeps_the_database_whole(
    tmp_path: Path, open_app: Callable[[str], AbstractContextManager[TestClient]]
) -> None:
    """A real full filesystem: the database lives on a 48 MB tmpfs that a file then fills."""
    with _tiny_disk(tmp_path / "disk", megabytes=48) as disk:
        path = disk / "answerdesk.db"
        with open_app(f"sqlite:///{path}") as client:
            conversation = _first_turn(client)
            with sqlite3.connect(path) as connection:  # the WAL's space goes back to the disk
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            filler = _fill(disk)

            refused = client.post("/v1/chat", json=_next_turn(conversation, QUESTIONS[1]))
            assert_database_unavailable(refused)
            fresh = client.post("/v1/chat", json={"user": new_user(), "text": QUESTIONS[2]})
            assert_database_unavailable(fresh)

            filler.unlink()  # space again: the same request goes through
            retried = client.post("/v1/chat", json=_next_turn(conversation, QUESTIONS[1]))
            assert retried.status_code == 200, retried.text
            stored = transcript(client, conversation["conversation_id"])
            assert customer_texts(stored) == QUESTIONS[:2]
            assert_whole_turns(stored)
        assert integrity_check(path) == "ok"


@SQLITE_ONLY
def test_database_at_its_size_limit_gives_503_and_keeps_earlier_data(
    database_url: str, open_app: Callable[[str], AbstractContextManager[TestClient]]
) -> None:
    """SQLITE_FULL without root: PRAGMA max_page_count caps the file at its current size, the
    error SQLite gives when the disk is full. Runs where a tmpfs cannot be mounted."""
    path = sqlite_file(database_url)
    with open_app(database_url) as client:
        conversation = _first_turn(client)
        with sqlite3.connect(path) as connection:
            connection.execute("VACUUM")  # no free pages left to grow into
            pages = connection.execute("PRAGMA page_count").fetchone()[0]

        engine = client.app.state.engine  # type: ignore[attr-defined]

        def cap(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

        event.listen(engine, "connect", cap)
        engine.dispose()  # every connection from now on has the cap
        long_text = f"{QUESTIONS[1]} {uuid.uuid4().hex} " + "please " * 560  # overflow pages
        refused = client.post("/v1/chat", json=_next_turn(conversation, long_text))
        assert_database_unavailable(refused)

        event.remove(engine, "connect", cap)
        engine.dispose()
        stored = transcript(client, conversation["conversation_id"])
        assert customer_texts(stored) == [QUESTIONS[0]]
        retried = client.post("/v1/chat", json=_next_turn(conversation, long_text))
        assert retried.status_code == 200, retried.text
        assert_whole_turns(transcript(client, conversation["conversation_id"]))
    assert integrity_check(path) == "ok"


@SQLITE_ONLY
def test_webhook_during_a_lock_gets_503_and_the_redelivery_is_answered_once(
    database_url: str,
) -> None:
    """A messenger's webhook that meets a locked database answers 503, so the platform sends it
    again; the failed attempt left no trace (not even its idempotency key), so the redelivery
    is processed and answered, once."""
    settings = make_settings(
        database_url,
        **channel_overrides("http://127.0.0.1:9"),  # the sender is off: nothing is posted
        sqlite_busy_timeout_seconds=BUSY_TIMEOUT_SECONDS,
    )
    update = tg_message(next_id(), QUESTIONS[0])
    with TestClient(create_app(settings)) as client:
        with sqlite_write_lock(sqlite_file(database_url)):
            assert_database_unavailable(tg_post(client, update))
        assert count_rows(client) == {"conversations": 0, "messages": 0, "outbox": 0}
        assert tg_post(client, update).status_code == 200
        assert tg_post(client, update).status_code == 200  # a second redelivery: a duplicate
        assert count_rows(client) == {"conversations": 1, "messages": 2, "outbox": 1}
    assert integrity_check(sqlite_file(database_url)) == "ok"
