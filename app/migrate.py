"""Apply Alembic migrations at start, safely when several workers start together."""

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.settings import PROJECT_ROOT, is_sqlite


def _config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str) -> None:
    config = _config(database_url)
    if not is_sqlite(database_url):
        command.upgrade(config, "heads")  # env.py holds a PostgreSQL advisory lock
        return
    db_path = Path(database_url.split("///", 1)[-1])
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_suffix(db_path.suffix + ".migrate-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command.upgrade(config, "heads")
