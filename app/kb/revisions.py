"""Article revisions: what each change did, and the content to restore."""

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.kb.models import Article, ArticleRevision
from app.kb.schemas import ArticleIn

CONTENT_FIELDS = tuple(ArticleIn.model_fields)
SMALL_VALUE_CHARS = 300  # before/after are kept for values up to this size; bodies get lengths


class RevisionNotFound(NotFound):
    def __init__(self, article_id: str, number: int | None = None) -> None:
        what = f"Revision {number} of article {article_id!r}" if number else f"{article_id!r}"
        super().__init__(
            f"{what} does not exist." if number else f"Article {what} has no revisions.",
            article_id=article_id,
        )


def content_of(article: Article) -> dict[str, Any]:
    """The editable content of a stored article, in the shape ArticleIn dumps."""
    return {
        name: list(value) if isinstance(value := getattr(article, name), list) else value
        for name in CONTENT_FIELDS
    }


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(len(str(item)) + 4 for item in value)
    return len(json.dumps(value, ensure_ascii=False))


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Changed field -> before/after (small values) or their lengths (large ones)."""
    before, after = before or {}, after or {}
    changes: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if max(_size(old), _size(new)) <= SMALL_VALUE_CHARS:
            changes[name] = {"before": old, "after": new}
        else:
            changes[name] = {
                "before_chars": _size(old) if old is not None else None,
                "after_chars": _size(new) if new is not None else None,
            }
    return changes


def next_numbers(*, session: Session, article_ids: Iterable[str]) -> dict[str, int]:
    """The next revision number for each article, in one query per 500 ids."""
    ids = list(dict.fromkeys(article_ids))
    numbers = dict.fromkeys(ids, 1)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(ArticleRevision.article_id, func.max(ArticleRevision.number))
            .where(ArticleRevision.article_id.in_(chunk))
            .group_by(ArticleRevision.article_id)
        )
        for article_id, highest in rows:
            numbers[article_id] = highest + 1
    return numbers


def revision_values(
    *,
    article_id: str,
    number: int,
    action: str,
    source: str,
    author: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    """The column values of one revision (bulk imports insert these directly)."""
    changes = diff(before, after)
    return {
        "article_id": article_id,
        "number": number,
        "action": action,
        "source": source,
        "author": author,
        "changed": list(changes),
        "diff": changes,
        "content": after if after is not None else (before or {}),
    }


def make_revision(**values: Any) -> ArticleRevision:
    return ArticleRevision(**revision_values(**values))


def list_revisions(*, session: Session, article_id: str) -> list[ArticleRevision]:
    rows = list(
        session.scalars(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article_id)
            .order_by(ArticleRevision.number.desc())
        )
    )
    if not rows and session.get(Article, article_id) is None:
        raise RevisionNotFound(article_id)
    return rows


def get_revision(*, session: Session, article_id: str, number: int) -> ArticleRevision:
    row = session.scalar(
        select(ArticleRevision).where(
            ArticleRevision.article_id == article_id, ArticleRevision.number == number
        )
    )
    if row is None:
        raise RevisionNotFound(article_id, number)
    return row
