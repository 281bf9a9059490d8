"""Keeps each worker's index in step with the knowledge-base version in the database.

Queries read `holder.index` (one attribute read, never blocked). A rebuild runs in a
background thread, or in the writing request itself, and replaces the reference whole.
Other workers notice a newer version by polling it at most every `poll_seconds`.
"""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from sqlalchemy.orm import Session, sessionmaker

from app.kb.service import current_version, get_synonyms, published_snapshot
from app.matching.index import IndexConfig, SearchIndex

log = logging.getLogger("answerdesk.reindex")

STARTER_SYNONYMS = Path(__file__).resolve().parent.parent / "matching" / "data" / "synonyms.yaml"


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


class IndexHolder:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        poll_seconds: float = 0.5,
        config: IndexConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._poll_seconds = poll_seconds
        self._config = config
        self._clock = clock
        self._build_lock = threading.Lock()
        self._last_check = 0.0
        self._rebuilding = False
        with session_factory() as session:
            self.index = build_index(session, config)

    def rebuild_now(self) -> SearchIndex:
        """Builds from the committed state and swaps it in; concurrent callers build once."""
        with self._build_lock:
            with self._session_factory() as session:
                if current_version(session=session) == self.index.version:
                    return self.index
                started = time.perf_counter()
                index = build_index(session, self._config)
            self.index = index
            log.info(
                "index version %s built: %d articles in %.0f ms",
                index.version,
                len(index),
                (time.perf_counter() - started) * 1000,
            )
            return index

    def current(self) -> SearchIndex:
        """The index to answer with; starts a background rebuild when the KB has moved on."""
        now = self._clock()
        if now - self._last_check >= self._poll_seconds and not self._rebuilding:
            self._last_check = now
            with self._session_factory() as session:
                stale = current_version(session=session) != self.index.version
            if stale:
                self._rebuilding = True
                threading.Thread(target=self._rebuild_in_background, daemon=True).start()
        return self.index

    def _rebuild_in_background(self) -> None:
        try:
            self.rebuild_now()
        except Exception:
            log.exception(
                "index rebuild failed; still answering with version %s", self.index.version
            )
        finally:
            self._rebuilding = False
