"""What every importer produces, and the errors that reject a whole upload."""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from app.errors import AnswerdeskError, InvalidInput
from app.kb.schemas import Rejection


@dataclass(slots=True)
class RawArticle:
    """One article as found in a file, not yet validated."""

    file: str
    line: int | None
    id: str | None
    fields: dict[str, Any] = field(default_factory=dict)


Parsed = RawArticle | Rejection


class MalformedUpload(InvalidInput):
    """The file cannot be read at all (broken JSON, bad CSV, not a zip); nothing is stored."""

    def __init__(self, file: str, reason: str, line: int | None = None) -> None:
        where = f"{file}, line {line}" if line else file
        super().__init__(
            f"{where}: {reason}",
            created=0,
            updated=0,
            unchanged=0,
            rejected=[{"file": file, "line": line, "id": None, "reason": reason}],
        )


class UploadTooLarge(AnswerdeskError):
    status_code = 413
    title = "Payload too large"
    type_slug = "too-large"


def slugify(text: str) -> str:
    """A file name or title as an article id: a-z, 0-9, - and _ (empty if nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower()).strip("-_")
    return re.sub(r"-{2,}", "-", slug)[:200]


def split_list(value: Any, separators: str = "|") -> list[str]:
    """'a | b' -> ['a', 'b']; lists pass through."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    parts = [str(value)]
    for separator in separators:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [p.strip() for p in parts if p.strip()]
