"""Keeps each worker's index in step with the knowledge-base version in the database.

Queries read `holder.current()`: one attribute read, never blocked by a rebuild and never
touching the database. Rebuilds run in one background thread per worker and replace the
reference whole, so a query sees the old index or the new one, never half of one. Requests
that arrive during a rebuild set a flag; the thread builds once more afterwards, so a burst of
writes costs at most two builds. A failed build keeps the old index and is retried with
backoff. Other workers' changes are noticed by a poller thread that reads the version every
`poll_seconds` (see `watch_kb_version`, registered in app.main's BACKGROUND).
"""

import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from app.kb.service import current_version, get_synonyms, published_snapshot
from app.matching.index import IndexConfig, SearchIndex

log = logging.getLogger("answerdesk.reindex")

STARTER_SYNONYMS = Path(__file__).resolve().parent.parent / "matching" / "data" / "synonyms.yaml"
MAX_BACKOFF_SECONDS = 60.0

Builder = Callable[[Session, IndexConfig | None], SearchIndex]
Patcher = Callable[[Session, SearchIndex], SearchIndex | None]


def starter_synonyms() -> dict[str, str]:
    data = yaml.safe_load(STARTER_SYNONYMS.read_text(encoding="utf-8")) or {}
    merged: dict[str, str] = {}
    for entries in data.values():
        merged.update({str(k): str(v) for k, v in (entries or {}).items()})
    return merged


def build_index(session: Session, config: IndexConfig | None = None) -> SearchIndex:
    version, docs = published_snapshot(session=session)
    synonyms = get_synonyms(session=session)
    return SearchIndex.build(docs, synonyms=synonyms, version=version, config=config)


def patch_index(session: Session, index: SearchIndex) -> SearchIndex | None:
    """The committed state as a quick patch of `index` (see SearchIndex.with_changes)."""
    version, docs = published_snapshot(session=session)
    return index.with_changes(docs, synonyms=get_synonyms(session=session), version=version)


class IndexHolder:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        poll_seconds: float = 0.5,
        config: IndexConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        builder: Builder = build_index,
        patcher: Patcher = patch_index,
        full_build_pace: float,
    ) -> None:
        self._session_factory = session_factory
        self._poll_seconds = poll_seconds
        self._config = config
        self._clock = clock
        self._builder = builder
        self._patcher = patcher
        self._full_worker: threading.Thread | None = None
        self._full_pending = False
        self._full_build_pace = full_build_pace
        self._build_lock = threading.Lock()  # one build at a time
        self._state = threading.Condition()  # guards the fields below; notified after builds
        self._pending = False
        self._worker: threading.Thread | None = None
        self._last_check = 0.0
        self._retry_at = 0.0
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.failures = 0  # consecutive failed builds
        self.attempts = 0  # builds started, successful or not
        self.last_error: str | None = None
        self._full_built_at = 0.0  # time.monotonic() when the last full build ended
        self.full_build_seconds = 0.0  # and how long it took
        with session_factory() as session:
            self.index: SearchIndex = self._build_full(session)

    def current(self) -> SearchIndex:
        """The index to answer with. Without the poller, asks for a check every poll_seconds."""
        if self._poller is None:
            now = self._clock()
            if now - self._last_check >= self._poll_seconds and now >= self._retry_at:
                self._last_check = now
                self.request_rebuild()
        return self.index

    def request_rebuild(self) -> None:
        """Non-blocking: the background thread checks the version and builds if it moved."""
        with self._state:
            self._pending = True
            if self._worker is not None:
                return  # the running thread will go round once more
            self._worker = threading.Thread(target=self._work, name="kb-reindex", daemon=True)
            self._worker.start()

    def refresh(self, *, version: int, timeout: float) -> bool:
        """After a write: rebuild in the background and wait up to `timeout` seconds until this
        worker answers from `version`. False if it is not there yet (still building, or failed);
        the rebuild then carries on without the caller."""
        with self._state:
            failures_before = self.failures
        self.request_rebuild()
        deadline = time.monotonic() + timeout
        with self._state:
            while self.index.version < version:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.failures > failures_before:
                    return False
                self._state.wait(remaining)
        return True

    def rebuild_now(self) -> SearchIndex:
        """Brings this worker to the committed state in the calling thread: a quick patch when
        only a few articles changed (a full build then follows in its own thread), else a full
        build. A failure is logged and keeps the old index."""
        with self._build_lock:
            try:
                with self._session_factory() as session:
                    if current_version(session=session) == self.index.version:
                        return self.index
                    self.attempts += 1
                    started = time.perf_counter()
                    index = self._patcher(session, self.index) if len(self.index) else None
                    if index is None:
                        index = self._build_full(session)
            except Exception as exc:
                self._record_failure(exc)
                return self.index
            self._swap(index, started)
        if index.patched:
            self._request_full_build()
        return index

    def _swap(self, index: SearchIndex, started: float) -> None:
        with self._state:
            self.index = index  # the swap: one reference assignment
            gc.freeze()
            self.failures = 0
            self.last_error = None
            self._retry_at = 0.0
            self._state.notify_all()
        log.info(
            "index version %s %s: %d articles in %.0f ms",
            index.version,
            "patched" if index.patched else "built",
            len(index),
            (time.perf_counter() - started) * 1000,
        )

    def _record_failure(self, exc: Exception) -> None:
        with self._state:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._retry_at = self._clock() + min(MAX_BACKOFF_SECONDS, 2.0**self.failures)
            self._state.notify_all()
        log.error(
            "index rebuild failed; still answering with version %s",
            self.index.version,
            exc_info=exc,
        )

    def _request_full_build(self) -> None:
        """A patched index answers now; this replaces it with a properly fitted one later,
        in its own thread, so that quick patches go on while it runs."""
        with self._state:
            self._full_pending = True
            if self._full_worker is not None:
                return
            self._full_worker = threading.Thread(
                target=self._full_work, name="kb-full-build", daemon=True
            )
            self._full_worker.start()

    def _full_work(self) -> None:
        while True:
            with self._state:
                if not self._full_pending:
                    self._full_worker = None
                    return
            time.sleep(self._full_build_delay())  # the thread is a daemon: no need to wake it
            with self._state:  # the build reads the latest state: changes until now are in it
                self._full_pending = False
            started = time.perf_counter()
            try:
                with self._session_factory() as session:
                    full = self._build_full(session)
                with self._build_lock:  # no patch may land between the check and the swap
                    if full.version < self.index.version:  # patches moved on meanwhile
                        with self._session_factory() as session:
                            full = self._patcher(session, full) or self.index
                    if full is not self.index:
                        self._swap(full, started)
            except Exception as exc:
                self._record_failure(exc)
                continue
            if full.patched:
                with self._state:
                    self._full_pending = True

    def _build_full(self, session: Session) -> SearchIndex:
        """A full build, timed for the pace of the next one."""
        started = time.monotonic()
        index = self._builder(session, self._config)
        self._full_built_at = time.monotonic()
        self.full_build_seconds = self._full_built_at - started
        return index

    def _full_build_delay(self) -> float:
        """Seconds until the next full build may start: `full_build_pace` times the last one's
        duration after it ended. At 100,000 articles a build takes a minute of a core, and an
        editor saving every minute would otherwise keep every worker building all the time;
        patches go on meanwhile, so changes stay answerable within seconds."""
        ready_at = self._full_built_at + self._full_build_pace * self.full_build_seconds
        delay = max(0.0, ready_at - time.monotonic())
        if delay:
            log.info("next full index build in %.0f s; patches answer meanwhile", delay)
        return delay

    def _work(self) -> None:
        while True:
            with self._state:
                if not self._pending:
                    self._worker = None
                    return
                self._pending = False
            self.rebuild_now()

    def start_polling(self) -> None:
        """Starts the thread that notices other workers' changes."""
        if self._poller is not None:
            return
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="kb-version-poll", daemon=True)
        self._poller.start()

    def stop_polling(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            if self._clock() < self._retry_at:
                continue
            try:
                with self._session_factory() as session:
                    stale = current_version(session=session) != self.index.version
            except Exception:  # the database is away for a moment: keep answering, try again
                log.warning("could not read the knowledge-base version", exc_info=True)
                continue
            if stale:
                self.request_rebuild()


@asynccontextmanager
async def watch_kb_version(app: FastAPI) -> AsyncIterator[None]:
    """BACKGROUND entry: poll the KB version while the app runs."""
    holder: IndexHolder = app.state.kb_index
    holder.start_polling()
    try:
        yield
    finally:
        holder.stop_polling()
