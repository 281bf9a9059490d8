"""Engine, sessions and the declarative base shared by every domain's models."""

import fcntl
import os
import select
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, any_, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from app.settings import is_sqlite

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


class SQLiteWriterLock:
    """One writing transaction at a time on a SQLite file, across threads and processes.

    SQLite itself lets one transaction write at a time and makes the others retry with sleeps
    that grow to 100 ms (busy_timeout): with two workers under load, a message that met
    another's write lock often waited far longer than the write took. Here a writer waits in
    the kernel (flock on `<database>-writer.lock`) and wakes as soon as the last one commits.
    A thread lock first: flock is per open file, shared by a process's threads.

    Waiting for the thread lock is bounded by the busy timeout (then "database is locked", as
    SQLite would say); waiting for the file lock is not, but its holder is always a transaction
    that will end (a killed process's lock is released by the kernel).
    """

    def __init__(self, path: str) -> None:
        self._path = path + "-writer.lock"
        self._threads = threading.Lock()
        self._fd = -1

    @classmethod
    def of(cls, path: str) -> "SQLiteWriterLock":
        """One per database file and process, shared by every engine on it: a thread that
        writes through a second engine while the first has written then waits for the busy
        timeout and fails, as it would on SQLite's own lock, instead of hanging."""
        key = os.path.realpath(path)
        with _WRITER_LOCKS_GUARD:
            writer = _WRITER_LOCKS.get(key)
            if writer is None:
                writer = _WRITER_LOCKS[key] = cls(key)
            return writer

    def acquire(self, *, timeout_seconds: float) -> None:
        if not self._threads.acquire(timeout=timeout_seconds):
            raise sqlite3.OperationalError("database is locked (waited for this process's writer)")
        # Opened for each transaction (a few microseconds): no descriptor is kept per database,
        # and none is shared with a forked child.
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            self._threads.release()
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, -1
        try:
            os.close(fd)  # closing the file releases the flock
        finally:
            self._threads.release()


# Gone with the last engine (its connection class) that uses it.
_WRITER_LOCKS: "weakref.WeakValueDictionary[str, SQLiteWriterLock]" = weakref.WeakValueDictionary()
_WRITER_LOCKS_GUARD = threading.Lock()

# Statements that take SQLite's write lock (the sqlite3 module opens a transaction before DML).
# BEGIN: the roll-up opens with BEGIN IMMEDIATE (app/analytics/rollup.py), which takes SQLite's
# lock at once; outside this lock it would wait for a writer that waits for it. A CTE may read
# or write: it is counted as a write, which costs at most an unneeded wait.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC", "CREATE", "DROP", "ALTER", "WITH", "BEGIN")


def _writes(statement: str) -> bool:
    return statement.lstrip()[:6].upper().startswith(_WRITES)


def _locking_connection(
    writer: SQLiteWriterLock, *, timeout_seconds: float
) -> type[sqlite3.Connection]:
    """A sqlite3 connection that holds `writer` from its transaction's first write until the
    transaction ends (commit, rollback, close: whichever way SQLAlchemy or the pool ends it)."""

    class Cursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> "Cursor":
            connection: Connection = self.connection  # type: ignore[assignment]
            connection.before(sql)
            try:
                return super().execute(sql, parameters)
            finally:
                connection.after()

        def executemany(self, sql: str, seq_of_parameters: Any, /) -> "Cursor":
            connection: Connection = self.connection  # type: ignore[assignment]
            connection.before(sql)
            try:
                return super().executemany(sql, seq_of_parameters)
            finally:
                connection.after()

    class Connection(sqlite3.Connection):
        holds_writer = False

        def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
            return super().cursor(factory)

        def before(self, sql: str) -> None:
            if not self.holds_writer and _writes(sql):
                writer.acquire(timeout_seconds=timeout_seconds)
                self.holds_writer = True

        def after(self) -> None:
            # A write outside a transaction (or one SQLite rolled back on error) has ended.
            if self.holds_writer and not self.in_transaction:
                self._release()

        def _release(self) -> None:
            if self.holds_writer:
                self.holds_writer = False
                writer.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                if not self.in_transaction:
                    self._release()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                if not self.in_transaction:
                    self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release()

    return Connection


def lockable_sqlite_file(database_url: str) -> str | None:
    """The file of a SQLite URL that names a plain file path, the one locks are taken beside
    (`<file>-writer.lock` here, `<file>-rollup.lock` by the roll-ups); None for an in-memory
    database, a `file:` URI or another database."""
    if not is_sqlite(database_url):
        return None
    path = database_url.split("///", 1)[-1]
    return None if not path or path == ":memory:" or path.startswith("file:") else path


def make_engine(database_url: str, *, sqlite_busy_timeout_seconds: float = 10.0) -> Engine:
    if is_sqlite(database_url):
        path = database_url.split("///", 1)[-1]
        connect_args: dict[str, Any] = {"check_same_thread": False}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if (file := lockable_sqlite_file(database_url)) is not None:
            connect_args["factory"] = _locking_connection(
                SQLiteWriterLock.of(file), timeout_seconds=sqlite_busy_timeout_seconds
            )
        # An in-memory URI ("file:...?mode=memory"): a connection per thread, as SQLAlchemy
        # chose for it by itself until it deprecated choosing by the URL.
        pool = {"poolclass": SingletonThreadPool} if "mode=memory" in database_url else {}
        engine = create_engine(database_url, connect_args=connect_args, **pool)
        event.listen(engine, "connect", _sqlite_tuning(sqlite_busy_timeout_seconds))
        return engine
    # connect_timeout: a server that does not answer at all fails the request (a 503) in
    # seconds instead of leaving it hanging for the operating system's TCP timeout.
    given = make_url(database_url).query
    connect_args = {} if "connect_timeout" in given else {"connect_timeout": 5}
    # pool_size: every request thread (anyio's pool holds 40) and background task takes a
    # connection; with 10 kept, a busy worker opened and closed overflow connections all the
    # time, each a new PostgreSQL backend (scripts/bench_load.py).
    engine = create_engine(database_url, pool_size=20, max_overflow=20, connect_args=connect_args)
    event.listen(engine, "checkout", _replace_if_dead(engine))
    return engine


def _replace_if_dead(engine: Engine) -> Callable[[Any, Any, Any], None]:
    """A pool checkout that hands out no connection a server restart killed, so the pool
    recovers without restarting the app and no request sees the dead connection.

    pool_pre_ping asks the server (SELECT 1) at every checkout: a round trip more in every
    chat transaction, 70-110 us of a worker's CPU each (under 1% of a message). A server that
    goes away writes to its idle connections (a FATAL notice, then the end of the stream), so
    only a connection with something to read is asked; SQLAlchemy replaces one the checkout
    refuses with DisconnectionError."""

    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("the connection was closed")
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        if not readable:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the server closed the connection") from exc

    return check


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


def one_of(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(:array)`, one parameter. An IN list is
    expanded into one placeholder per value at every execution, and each length is a new
    statement for the driver to parse again: for the analytics roll-ups' lists of 500 ids, a
    few percent of a worker's CPU under chat load (scripts/bench_load.py profiles)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


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
