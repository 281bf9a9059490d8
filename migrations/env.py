"""Alembic environment: runs against the URL given by app.migrate or the settings."""

from alembic import context
from sqlalchemy import text

from app.db import make_engine
from app.models import Base
from app.settings import get_settings

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers start at once; only one may migrate at a time.
            connection.execute(text("SELECT pg_advisory_lock(724311)"))
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(724311)"))
            connection.commit()
    engine.dispose()


run_migrations_online()
