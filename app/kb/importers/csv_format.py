"""CSV with a header row: id, title, body, questions (separated by |), language, tags.

Optional columns: categories, status, translation_group, always_handoff. Tags and categories
are separated by | or commas. Unknown columns are ignored. Comma, semicolon or tab delimited.
"""

import csv
import io
import sys
from typing import Any

from app.kb.importers.base import MalformedUpload, Parsed, RawArticle, split_list
from app.kb.schemas import MAX_BODY_CHARS, Rejection

LIST_COLUMNS = {"questions": "|", "tags": "|,", "categories": "|,"}
TEXT_COLUMNS = ("title", "body", "language", "status", "translation_group")
FLOAT_COLUMNS = ("answer_threshold", "handoff_threshold")
TRUE = {"1", "true", "yes", "y"}
FALSE = {"0", "false", "no", "n", ""}

csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, MAX_BODY_CHARS * 2)))


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _fields(row: dict[str, str | None]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for column, separators in LIST_COLUMNS.items():
        if row.get(column):
            fields[column] = split_list(row[column], separators)
    for column in TEXT_COLUMNS:
        value = (row.get(column) or "").strip() if column != "body" else row.get(column)
        if value:
            fields[column] = value
    for column in FLOAT_COLUMNS:
        value = (row.get(column) or "").strip()
        if value:
            try:
                fields[column] = float(value)
            except ValueError:
                fields[column] = value  # validation names the column
    flag = (row.get("always_handoff") or "").strip().lower()
    if flag in TRUE:
        fields["always_handoff"] = True
    elif flag not in FALSE:
        fields["always_handoff"] = flag
    return fields


def parse(name: str, text: str) -> list[Parsed]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise MalformedUpload(name, f"not valid CSV: {exc}", 1) from exc
    missing = {"id", "title"} - set(header)
    if missing:
        raise MalformedUpload(name, f"the header lacks column(s): {', '.join(sorted(missing))}", 1)
    reader.fieldnames = header
    parsed: list[Parsed] = []
    line = reader.line_num + 1
    try:
        for row in reader:
            article_id = (row.get("id") or "").strip() or None
            if None in row:  # more cells than the header has columns
                parsed.append(
                    Rejection(file=name, line=line, id=article_id, reason="more cells than columns")
                )
            else:
                parsed.append(RawArticle(name, line, article_id, _fields(row)))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise MalformedUpload(name, f"not valid CSV: {exc}", reader.line_num) from exc
    return parsed
