"""SQLite writers take turns through app.db's writer lock: none lost, none left waiting."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app.db import SQLiteWriterLock, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", sqlite_busy_timeout_seconds=2)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield engine
    engine.dispose()


def _held(tmp_path: Path) -> bool:
    return SQLiteWriterLock.of(str(tmp_path / "w.db"))._threads.locked()


def test_concurrent_writers_all_commit(engine: Engine, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(50):
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO t (v) VALUES ('x')"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 300
    assert not _held(tmp_path)


def test_lock_is_released_by_rollback_and_not_taken_by_reads(
    engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('gone')"))
        assert _held(tmp_path)
        raise RuntimeError
    assert not _held(tmp_path)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        assert not _held(tmp_path)


def test_begin_immediate_takes_the_lock(engine: Engine, tmp_path: Path) -> None:
    # The analytics roll-up opens its transaction this way (app/analytics/rollup.py).
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        assert _held(tmp_path)
        connection.execute(text("INSERT INTO t (v) VALUES ('y')"))
        connection.commit()
    assert not _held(tmp_path)
