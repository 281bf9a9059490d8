"""Engine, sessions and the declarative base shared by every domain's models."""

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON on SQLite, JSONB on PostgreSQL: one column type for both databases.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_tuning(busy_timeout_seconds: float) -> Callable[[Any, Any], None]:
    def tune(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run while a writer commits; busy_timeout turns lock contention
        # between workers into a short wait instead of an immediate "database is locked".
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()

    return tune


def make_engine(database_url: str, *, sqlite_busy_timeout_seconds: float = 10.0) -> Engine:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_tuning(sqlite_busy_timeout_seconds))
        return engine
    # pre_ping: after a server restart every pooled connection is dead; each is tested on
    # checkout and replaced, so the pool recovers without restarting the app.
    # connect_timeout: a server that does not answer at all fails the request (a 503) in
    # seconds instead of leaving it hanging for the operating system's TCP timeout.
    given = make_url(database_url).query
    connect_args = {} if "connect_timeout" in given else {"connect_timeout": 5}
    # pool_size: every request thread (anyio's pool holds 40) and background task takes a
    # connection; with 10 kept, a busy worker opened and closed overflow connections all the
    # time, each a new PostgreSQL backend (scripts/bench_load.py).
    return create_engine(
        database_url,
        pool_pre_ping=True,
        pool_size=20,
        max_overflow=20,
        connect_args=connect_args,
    )


# SQLite primary result codes that mean the storage is away or full for now, not that the SQL
# is wrong: BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = {5, 6, 7, 10, 13, 14, 15}


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot serve us right now (restarting, unreachable,
    locked, out of space): the request may succeed if retried. False for errors in our SQL."""
    if isinstance(exc, PoolTimeout):  # every pooled connection stayed busy
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy recognised a lost connection
        return True
    if isinstance(exc.orig, sqlite3.Error):
        code = getattr(exc.orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_UNAVAILABLE
        message = str(exc.orig)
        return any(part in message for part in ("locked", "disk", "unable to open"))
    # PostgreSQL: connection refused or lost, server shutting down, statement or lock timeout,
    # deadlock, disk full. Errors in the SQL itself are ProgrammingError or IntegrityError.
    return isinstance(exc, OperationalError)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
