"""Many rows into one table with one statement: the chat's messages, the analytics queue and
the analytics facts, written on every turn and every roll-up.

PostgreSQL gets all rows in one JSON array parameter, taken apart by the server in order. An
executemany is one statement per row for psycopg (each parsed, dumped and sent in Python), and
a multi-row VALUES has other text and parameters for each number of rows: psycopg parses such
a query anew every time (it caches only queries of at most 50 parameters) and the server plans
it anew. The JSON text is always the same, so it is parsed once and prepared. One JSON
document, not one array per column: psycopg quotes a text array's elements in Python, a
regular-expression substitution per element, which cost more than the rest of a turn's SQL for
the replies' JSON details. SQLite's executemany is a loop in C: it keeps it.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Text,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.dml import Insert

from app.db import Base


def insert_rows(
    connection: Connection,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: QueryableAttribute[Any] | None = None,
) -> list[Any]:
    """Inserts `rows` (all with the same keys) into the model's table and returns the
    `returning` column's values in the rows' order: it must be an ascending autoincrement key,
    as ids are. Columns the rows leave out take their defaults; a Python default is evaluated
    once for all rows."""
    if not rows:
        return []
    keys = tuple(rows[0])
    if connection.dialect.name == "postgresql":
        # The JSON text made here, by the C encoder: only dates and timestamps call back into
        # Python, where a loop over every value of every row cost more than the encoding.
        payload = json.dumps(
            [row if isinstance(row, dict) else dict(row) for row in rows],
            default=_json_value,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        result = connection.execute(_from_json(model, keys, returning), {"rows": payload})
        # Inserted in `ord` order, the ids ascend in the order given (SQLAlchemy's own
        # INSERT ... SELECT ... ORDER BY for sorted RETURNING relies on the same).
        return sorted(result.scalars().all()) if returning is not None else []
    result = connection.execute(_many(model, returning), list(rows))
    return list(result.scalars()) if returning is not None else []


@lru_cache(maxsize=64)
def _many(model: type[Base], returning: QueryableAttribute[Any] | None) -> Insert:
    statement = insert(model)
    return (
        statement
        if returning is None
        else statement.returning(returning, sort_by_parameter_order=True)
    )


@lru_cache(maxsize=64)
def _from_json(
    model: type[Base], keys: tuple[str, ...], returning: QueryableAttribute[Any] | None
) -> Insert:
    """One statement object per table and key set: SQLAlchemy compiles it once."""
    rows = (
        func.jsonb_array_elements(cast(bindparam("rows", type_=Text), JSONB))
        .table_valued(column("value", JSONB), with_ordinality="ord")
        .render_derived()
    )
    row = rows.c.value
    columns = [model.__table__.c[key] for key in keys]
    values = [
        row[c.key] if isinstance(c.type, JSON) else cast(row[c.key].astext, c.type) for c in columns
    ]
    statement = insert(model).from_select(list(keys), select(*values).order_by(rows.c.ord))
    return statement if returning is None else statement.returning(returning)


def _json_value(value: Any) -> str:
    """A value json cannot write, as the JSON document carries it: dates and timestamps in
    ISO 8601, a timestamp without a zone taken as UTC (as app.db.UTCDateTime takes it)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} values cannot be inserted as JSON")
