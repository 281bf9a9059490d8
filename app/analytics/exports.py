"""CSV versions of the analytics responses (`?format=csv`): UTF-8, a header row, one table each."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Customer text must not become a spreadsheet formula (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _flatten(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    else:
        yield prefix, value


def summary_csv(body: dict[str, Any]) -> Response:
    """Long format, one metric per row: `handoffs_by_reason.low_confidence,3`."""
    return csv_response(["metric", "value"], _flatten("", body), "summary.csv")


def timeseries_csv(body: dict[str, Any]) -> Response:
    rows = ([p["t"], p["value"], p["conversations"]] for p in body["points"])
    return csv_response(["t", "value", "conversations"], rows, f"{body['metric']}.csv")


ARTICLE_COLUMNS = (
    "article_id",
    "title",
    "served",
    "helpful_share",
    "thumbs_up",
    "thumbs_down",
    "handoffs_after",
)


def articles_csv(body: dict[str, Any]) -> Response:
    rows = ([item[c] for c in ARTICLE_COLUMNS] for item in body["items"])
    return csv_response(ARTICLE_COLUMNS, rows, "articles.csv")


def gaps_csv(body: dict[str, Any]) -> Response:
    rows = (
        [
            gap["id"],
            gap["label"],
            gap["count"],
            gap["trend"]["previous"],
            gap["trend"]["change"],
            gap["language"],
            " | ".join(gap["examples"]),
        ]
        for gap in body["gaps"]
    )
    header = ["id", "label", "count", "previous", "change", "language", "examples"]
    return csv_response(header, rows, "gaps.csv")
