"""Live reindex: queries never wait for a rebuild, bursts coalesce, failures keep the old
index, and every uvicorn worker picks up a change made through another."""

import threading
import time

import httpx
from sqlalchemy.orm import Session

from app.db import make_engine, make_session_factory
from app.kb.reindex import IndexHolder, build_index
from app.kb.service import bump_version
from app.matching.index import IndexConfig, SearchIndex
from app.migrate import upgrade_database
from tests.conftest import new_user
from tests.factories import ADMIN


class GatedBuilder:
    """The real build, run only when the test opens the gate; counts builds, can fail once."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.builds = 0
        self.fail_next = False

    def __call__(self, session: Session, config: IndexConfig | None) -> SearchIndex:
        self.builds += 1
        self.started.set()
        self.gate.wait(30)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("simulated build failure")
        return build_index(session, config)


def _holder(database_url: str) -> tuple[IndexHolder, GatedBuilder, object]:
    upgrade_database(database_url)
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        bump_version(session=session)
        session.commit()
    builder = GatedBuilder()
    holder = IndexHolder(factory, poll_seconds=0.01, builder=builder)
    builder.builds = 0
    return holder, builder, factory


def _bump(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as session:
        bump_version(session=session)
        session.commit()
        from app.kb.service import current_version

        return current_version(session=session)


def _in_thread(call) -> list:  # type: ignore[no-untyped-def,type-arg]
    """Runs `call` in a thread; returns its result, or [] if it did not return within 10 s."""
    result: list = []  # type: ignore[type-arg]
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(10)
    return result


def test_queries_get_the_old_index_while_a_rebuild_runs(database_url: str) -> None:
    holder, builder, factory = _holder(database_url)
    old = holder.index
    builder.gate.clear()
    version = _bump(factory)
    holder.request_rebuild()
    assert builder.started.wait(10)
    assert _in_thread(holder.current) == [old]  # returned although the build is held
    builder.gate.set()
    assert holder.refresh(version=version, timeout=30)
    assert holder.current().version == version


def test_a_burst_of_writes_costs_at_most_two_builds(database_url: str) -> None:
    holder, builder, factory = _holder(database_url)
    builder.gate.clear()
    version = _bump(factory)
    holder.request_rebuild()
    assert builder.started.wait(10)
    for _ in range(10):
        version = _bump(factory)
        holder.request_rebuild()
    builder.gate.set()
    assert holder.refresh(version=version, timeout=30)
    assert builder.builds <= 2
    assert holder.index.version == version


def test_failed_rebuild_keeps_the_old_index_and_the_next_one_recovers(database_url: str) -> None:
    holder, builder, factory = _holder(database_url)
    old = holder.index
    builder.fail_next = True
    version = _bump(factory)
    assert holder.refresh(version=version, timeout=30) is False
    assert holder.current() is old
    assert "simulated build failure" in (holder.last_error or "")
    assert holder.refresh(version=version, timeout=30) is True
    assert holder.index.version == version and holder.last_error is None


def test_change_through_one_worker_answers_from_both(live_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = live_server_factory(workers=2)
    new_body = "Bicycles go in the racks by the north entrance; no booking needed."
    article = {
        "language": "en",
        "title": "Where to leave a bicycle",
        "body": "Bicycles go in the courtyard.",
        "questions": ["where can I leave my bicycle", "bike parking"],
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.put("/v1/articles/bicycles", json=article, headers=ADMIN).status_code == 201

        def ask() -> str:
            response = http.post(
                "/v1/chat",
                json={"channel": "web", "user": new_user(), "text": "where can I leave my bicycle"},
            )
            assert response.status_code == 200
            return response.json()["reply"]

        changed = http.put(
            "/v1/articles/bicycles", json={**article, "body": new_body}, headers=ADMIN
        )
        assert changed.status_code == 200
        # Connections are spread over both workers; 20 right answers in a row means both
        # serve the new text (each request also has a fresh connection, see below).
        deadline = time.monotonic() + 120
        streak = 0
        while streak < 20 and time.monotonic() < deadline:
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                response = fresh.post(
                    "/v1/chat",
                    json={
                        "channel": "web",
                        "user": new_user(),
                        "text": "where can I leave my bicycle",
                    },
                )
            streak = streak + 1 if response.json()["reply"] == new_body else 0
            if not streak:
                time.sleep(0.2)
        assert streak >= 20
        assert ask() == new_body
