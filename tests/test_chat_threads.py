"""How many chat threads a worker runs depends on the database unless set."""

from app.settings import Settings


def test_one_thread_on_sqlite_two_on_postgresql_unless_set() -> None:
    assert Settings(database_url="sqlite:///x.db").chat_threads_per_worker == 1
    postgres = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert Settings(database_url=postgres).chat_threads_per_worker == 2
    assert Settings(database_url="sqlite:///x.db", chat_threads=3).chat_threads_per_worker == 3
