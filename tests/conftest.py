"""Fixtures: a real database per test (SQLite, and PostgreSQL when reachable), the app over HTTP.

Set ANSWERDESK_TEST_POSTGRES_URL to point at another server; tests on PostgreSQL skip with
the reason when none answers.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import PROJECT_ROOT, Settings

ADMIN_TOKEN = "test-admin-token"
POSTGRES_SERVER = os.environ.get(
    "ANSWERDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_postgres_state: dict[str, str | None] = {}


def _postgres_database() -> str | None:
    """Creates one throw-away database for this test run; None (with a reason) if unreachable."""
    if "url" in _postgres_state:
        return _postgres_state["url"]
    name = f"answerdesk_test_{os.getpid()}"
    try:
        admin = create_engine(
            POSTGRES_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # no server here: the PostgreSQL half of the suite skips
        _postgres_state["url"] = None
        _postgres_state["reason"] = (
            f"PostgreSQL not reachable at {POSTGRES_SERVER}: {exc.__class__.__name__}"
        )
        return None
    _postgres_state["url"] = (
        make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    )
    return _postgres_state["url"]


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    url = _postgres_state.get("url")
    if url:
        admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            )
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'answerdesk.db'}"
        return
    url = _postgres_database()
    if url is None:
        pytest.skip(_postgres_state.get("reason") or "PostgreSQL not reachable")
    _truncate_postgres(url)
    yield url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "kb_dir": str(PROJECT_ROOT / "kb"),
        "intents_dir": str(PROJECT_ROOT / "intents"),
        "admin_token": ADMIN_TOKEN,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def empty_client(database_url: str) -> Iterator[TestClient]:
    """The app with no demo knowledge base, for tests that build their own."""
    with TestClient(create_app(make_settings(database_url, kb_dir=""))) as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def count_rows(database_url: str, table: str, **equal: str) -> int:
    """Rows of a table, optionally only those whose columns equal the given values."""
    where = " AND ".join(f"{column} = :{column}" for column in equal)
    query = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text(query), equal).scalar_one()
    engine.dispose()
    return int(count)


def new_user() -> dict[str, str]:
    return {"id": f"user-{uuid.uuid4().hex[:8]}", "name": "Test Customer"}


GRACEFUL_SHUTDOWN_SECONDS = 5  # uvicorn's --timeout-graceful-shutdown in Dockerfile and Makefile


class LiveServer:
    """A real uvicorn process (optionally several workers) on a free local port."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        import socket
        import subprocess
        import sys
        import time

        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                # as Dockerfile and `make run`: an open event stream does not hold a shutdown
                "--timeout-graceful-shutdown",
                str(GRACEFUL_SHUTDOWN_SECONDS),
            ],
            cwd=PROJECT_ROOT,
            env=full_env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("uvicorn did not become ready in 60 s")

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except Exception:
                self.process.kill()
                self.process.wait()


def live_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = {
        "ANSWERDESK_DATABASE_URL": settings.database_url,
        "ANSWERDESK_KB_DIR": settings.kb_dir,
        "ANSWERDESK_INTENTS_DIR": settings.intents_dir,
        "ANSWERDESK_ADMIN_TOKEN": settings.admin_token or "",
    }
    env.update(overrides)
    return env


@pytest.fixture
def live_server_factory(settings: Settings) -> Iterator[object]:
    """Call it with workers=N and ANSWERDESK_* overrides; every server is stopped afterwards."""
    servers: list[LiveServer] = []

    def start(workers: int = 1, **overrides: str) -> LiveServer:
        server = LiveServer(live_env(settings, **overrides), workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(live_server_factory) -> LiveServer:  # type: ignore[no-untyped-def]
    """One uvicorn worker with the demo knowledge base on this test's database."""
    return live_server_factory()  # type: ignore[operator]
