"""Full index builds of a large knowledge base in a child process, handed back memory-mapped.

A worker answers from its current index while the next one is built. Built in the worker,
both indexes and the build's temporaries share one process: 4.2 GB at 100,000 articles, where
the index alone is 2.3 GB. Built in a child, the worker only ever holds its index and the new
one's arrays, mapped from a file (pickle protocol 5 keeps numpy buffers out of band), whose
pages the kernel loads as queries touch them and drops with the old index's memory at the
swap. The child's own peak ends with it.
"""

import mmap
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import URL, func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.kb.models import Article
from app.kb.reindex import Builder, build_index
from app.matching.index import IndexConfig, SearchIndex

ALIGNMENT = 64  # numpy's preferred alignment for the arrays mapped from the file


def published_count(session: Session) -> int:
    query = select(func.count()).select_from(Article).where(Article.status == "published")
    return int(session.scalar(query) or 0)


def child_builder(min_articles: int) -> Builder:
    """The IndexHolder builder for this deployment: a knowledge base of `min_articles` or
    more published articles is built in a child process, a smaller one in the calling thread
    (a child costs a second or two of start-up, more than such a build). A database only
    this process can open (SQLite in memory) is always built here."""

    def build(session: Session, config: IndexConfig | None) -> SearchIndex:
        url = session.get_bind().url
        if not _opened_elsewhere(url) or published_count(session) < min_articles:
            return build_index(session, config)
        return build_in_child(url.render_as_string(hide_password=False), config)

    return build


def _opened_elsewhere(url: URL) -> bool:
    """Whether another process can open this database: not SQLite in memory or by URI (which
    may be memory too: a child would read an empty database and build an empty index)."""
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and Path(str(url.database)).is_file()


def build_in_child(database_url: str, config: IndexConfig | None) -> SearchIndex:
    """Builds the committed knowledge base's index in a fresh process and maps it in."""
    return run_in_child(_build_from_database, database_url, config)


def run_in_child(build: Callable[..., SearchIndex], *args: Any) -> SearchIndex:
    """`build(*args)` in a fresh process, its index mapped in here."""
    # spawn, not fork: the worker has threads (the event loop's, the rebuild's) and a fork
    # would copy a 2 GB index only to throw it away.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        head, arrays = pool.submit(_dumped, build, *args).result()
    try:
        return load(head, arrays)
    finally:
        head.unlink(missing_ok=True)
        arrays.unlink(missing_ok=True)  # the mapping keeps the data until the index is gone


def _dumped(build: Callable[..., SearchIndex], *args: Any) -> tuple[Path, Path]:
    return dump(build(*args))


def _build_from_database(database_url: str, config: IndexConfig | None) -> SearchIndex:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return build_index(session, config)
    finally:
        engine.dispose()


def dump(index: SearchIndex) -> tuple[Path, Path]:
    """Two temporary files: the index's objects, and its arrays one after another."""
    buffers: list[pickle.PickleBuffer] = []
    head_bytes = pickle.dumps(index, protocol=5, buffer_callback=buffers.append)
    directory = tempfile.gettempdir()
    spans: list[tuple[int, int]] = []
    with tempfile.NamedTemporaryFile("wb", dir=directory, suffix=".arrays", delete=False) as out:
        for buffer in buffers:
            raw = buffer.raw()
            out.write(b"\0" * (-out.tell() % ALIGNMENT))
            spans.append((out.tell(), raw.nbytes))
            out.write(raw)
    with tempfile.NamedTemporaryFile("wb", dir=directory, suffix=".head", delete=False) as head:
        pickle.dump((spans, head_bytes), head, protocol=5)
    return Path(head.name), Path(out.name)


def load(head: Path, arrays: Path) -> SearchIndex:
    """The index of `dump`, its arrays read-only views of the mapped file."""
    with head.open("rb") as file:
        spans, head_bytes = pickle.load(file)  # our own child's file, never a client's
    descriptor = os.open(arrays, os.O_RDONLY)
    try:
        size = os.fstat(descriptor).st_size
        mapped = mmap.mmap(descriptor, size, access=mmap.ACCESS_READ) if size else b""
    finally:
        os.close(descriptor)
    view = memoryview(mapped)
    index = pickle.loads(head_bytes, buffers=[view[start : start + n] for start, n in spans])
    assert isinstance(index, SearchIndex)
    return index
