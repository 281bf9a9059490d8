"""What every failure test checks: a clear 503, the stored transcript read back through the API,
and a SQLite file that is still whole."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import create_engine, text

from app.settings import is_sqlite


class HttpClient(Protocol):  # a TestClient or an httpx.Client on a live server
    def get(self, url: str, **kwargs: Any) -> httpx.Response: ...


# Questions the demo knowledge base answers, so every stored turn is a customer and a bot message.
QUESTIONS = ["how do I pay by card", "how do I set up autopay", "how do I change my tariff"]


def assert_database_unavailable(response: httpx.Response) -> None:
    """A 503 problem that tells the client to come back, never a 500 or a stack trace."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/problems/database-unavailable"
    assert body["status"] == 503 and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    assert int(response.headers["Retry-After"]) > 0


def transcript(http: HttpClient, conversation_id: str) -> list[tuple[str, str]]:
    """(role, text) of every stored message of a conversation, as the API returns them."""
    response = http.get(f"/v1/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    return [(item["role"], item["text"]) for item in response.json()["items"]]


def assert_whole_turns(messages: list[tuple[str, str]]) -> None:
    """Every stored customer message has the bot's reply right after it: no half-stored turn."""
    roles = [role for role, _ in messages]
    assert roles == ["customer", "bot"] * (len(roles) // 2), roles


def customer_texts(messages: list[tuple[str, str]]) -> list[str]:
    return [text for role, text in messages if role == "customer"]


def sqlite_file(database_url: str) -> Path:
    return Path(database_url.split("///", 1)[-1])


def integrity_check(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Holds SQLite's write lock from another connection, as a long transaction elsewhere would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield connection
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@contextmanager
def writes_blocked(database_url: str) -> Iterator[None]:
    """Chat requests wait inside the workers for as long as this holds: a SQLite write lock,
    or on PostgreSQL a table lock that lets reads through but makes inserts wait."""
    if is_sqlite(database_url):
        with sqlite_write_lock(sqlite_file(database_url)):
            yield
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("LOCK TABLE messages IN SHARE MODE"))
            yield
            connection.rollback()
    finally:
        engine.dispose()
