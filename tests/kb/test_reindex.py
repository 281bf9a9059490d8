"""Live reindex: queries never wait for a rebuild, bursts coalesce, failures keep the old
index, and every uvicorn worker picks up a change made through another."""

import gc
import threading
import time
import weakref

import httpx
from sqlalchemy.orm import Session

from app.db import make_engine, make_session_factory
from app.kb.reindex import IndexHolder, Patcher, build_index, patch_index
from app.kb.schemas import ArticleIn
from app.kb.service import bump_version, current_version, put_article
from app.matching.engine import match
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
        self.delay = 0.0  # seconds each build takes at least
        self.spans: list[tuple[float, float]] = []  # (start, end) of each build, monotonic

    def __call__(self, session: Session, config: IndexConfig | None) -> SearchIndex:
        self.builds += 1
        self.started.set()
        start = time.monotonic()
        self.gate.wait(30)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("simulated build failure")
        index = build_index(session, config)
        time.sleep(max(0.0, start + self.delay - time.monotonic()))
        self.spans.append((start, time.monotonic()))
        return index


def no_patch(session: Session, index: SearchIndex) -> None:
    return None


def _holder(
    database_url: str, patcher: Patcher = no_patch, pace: float = 3.0
) -> tuple[IndexHolder, GatedBuilder, object]:
    """A holder over a fresh database; by default every change takes a full build."""
    upgrade_database(database_url)
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        bump_version(session=session)
        session.commit()
    builder = GatedBuilder()
    holder = IndexHolder(
        factory, poll_seconds=0.01, builder=builder, patcher=patcher, full_build_pace=pace
    )
    builder.builds = 0
    return holder, builder, factory


def _put(factory, article_id: str, title: str, body: str = "") -> int:  # type: ignore[no-untyped-def]
    with factory() as session:
        article = ArticleIn(language="en", title=title, body=body)
        put_article(session=session, article_id=article_id, article_in=article)
        session.commit()
        return current_version(session=session)


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


def test_an_index_replaced_by_a_newer_one_is_freed(database_url: str) -> None:
    # Each swap freezes what the worker holds (gc.freeze, so that full collections under load
    # skip the index's objects); frozen objects are never collected, so an index must be freed
    # by reference counting alone once nothing refers to it.
    holder, _, factory = _holder(database_url)
    replaced = weakref.ref(holder.index)
    assert holder.refresh(version=_bump(factory), timeout=30)
    gc.collect()
    assert replaced() is None


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


def test_a_change_is_patched_in_while_the_full_build_waits(database_url: str) -> None:
    holder, builder, factory = _holder(database_url, patcher=patch_index)
    for n in range(12):
        _put(factory, f"topic-{n}", f"Question number {n} about subject {n}", f"Answer {n}.")
    builder.gate.set()
    holder.refresh(
        version=_put(factory, "topic-0", "Question number 0 about subject 0"), timeout=60
    )
    assert holder.refresh(version=current_version_of(factory), timeout=60)
    builder.gate.clear()  # from here on a full build hangs until the test opens the gate
    version = _put(factory, "esim", "How to activate an eSIM", "Scan the QR code in settings.")
    assert holder.refresh(version=version, timeout=10)  # no full build needed for that
    index = holder.current()
    assert index.patched and index.version == version
    top = match(index, "how do I activate my esim").top
    assert top is not None and top.article_id == "esim"
    builder.gate.set()  # the full build that followed the patch replaces it
    deadline = time.monotonic() + 60
    while holder.current().patched and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not holder.current().patched
    assert holder.current().version == version
    top = match(holder.current(), "how do I activate my esim").top
    assert top is not None and top.article_id == "esim"


def _until_fully_built(holder: IndexHolder, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while holder.current().patched and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not holder.current().patched


def test_full_builds_after_patches_wait_for_their_pace(database_url: str) -> None:
    holder, builder, factory = _holder(database_url, patcher=patch_index, pace=5.0)
    builder.delay = 0.3
    for n in range(12):
        _put(factory, f"topic-{n}", f"Question number {n} about subject {n}", f"Answer {n}.")
    assert holder.refresh(version=current_version_of(factory), timeout=60)
    _until_fully_built(holder)
    builds = builder.builds
    previous_start, previous_end = builder.spans[-1]

    version = _put(factory, "esim", "How to activate an eSIM", "Scan the QR code in settings.")
    assert holder.refresh(version=version, timeout=10)  # patched in at once...
    assert holder.current().patched and holder.current().version == version
    _until_fully_built(holder)  # ...and fully built again, but only once it is its turn
    assert builder.builds == builds + 1
    start, _ = builder.spans[-1]
    assert start - previous_end >= 5.0 * (previous_end - previous_start)
    top = match(holder.current(), "how do I activate my esim").top
    assert top is not None and top.article_id == "esim"


def test_a_patched_index_ranks_like_a_full_build(database_url: str) -> None:
    holder, builder, factory = _holder(database_url, patcher=patch_index)
    for n in range(12):
        _put(factory, f"topic-{n}", f"Question number {n} about subject {n}", f"Answer {n}.")
    assert holder.refresh(version=current_version_of(factory), timeout=60)
    builder.gate.clear()
    _put(factory, "topic-3", "Returning a parcel by courier", "Book a courier pickup online.")
    with factory() as session:
        from app.kb.service import delete_article

        delete_article(session=session, article_id="topic-5")
        session.commit()
    assert holder.refresh(version=current_version_of(factory), timeout=10)
    patched = holder.current()
    assert patched.patched and len(patched) == 11
    with factory() as session:
        full = build_index(session)
    for question in ("return a parcel by courier", "question number 7 about subject 7"):
        assert match(patched, question).top.article_id == match(full, question).top.article_id  # type: ignore[union-attr]
    assert "topic-5" not in {doc.id for doc in patched.docs}
    builder.gate.set()


def current_version_of(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as session:
        return current_version(session=session)


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
        # Each request on a fresh connection, so the kernel spreads them over both workers;
        # the debug field names the worker that answered and the KB version it answered from.
        answered_by: dict[int, str] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                response = fresh.post(
                    "/v1/chat?debug=true",
                    json={
                        "channel": "web",
                        "user": new_user(),
                        "text": "where can I leave my bicycle",
                    },
                )
            body = response.json()
            answered_by[body["debug"]["worker"]] = body["reply"]
            if len(answered_by) == 2 and all(r == new_body for r in answered_by.values()):
                break
            time.sleep(0.05)
        assert len(answered_by) == 2, f"only these workers answered: {sorted(answered_by)}"
        assert all(reply == new_body for reply in answered_by.values()), answered_by
        assert ask() == new_body
