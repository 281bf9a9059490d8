"""Importing many articles in one transaction: validate, upsert by id, one version bump.

Everything is checked before anything is written, so `atomic=True` rejects the whole upload
without touching the database, and without it the good rows are kept and the bad ones
reported. Writes are bulk statements, one revision and one audit entry per changed article.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import InvalidInput
from app.kb import audit, revisions
from app.kb.importers import SUFFIXES, Parsed, RawArticle
from app.kb.models import Article, ArticleRevision, AuditEntry
from app.kb.schemas import SLUG, ArticleIn, ImportReport, Rejection
from app.kb.service import bump_version

CHUNK = 500
Progress = Callable[[int, int], None]


class ImportRejected(InvalidInput):
    """An atomic import with at least one bad row: nothing was stored."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{len(report.rejected)} row(s) rejected; atomic import stored nothing.",
            **report.model_dump(mode="json"),
        )


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        field = ".".join(str(p) for p in error.get("loc", ()))
        message = error.get("msg", "").removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def validate(
    parsed: Sequence[Parsed], *, default_language: str
) -> tuple[list[tuple[RawArticle, ArticleIn]], list[Rejection]]:
    good: list[tuple[RawArticle, ArticleIn]] = []
    rejected: list[Rejection] = []
    first_seen: dict[str, RawArticle] = {}
    for item in parsed:
        if isinstance(item, Rejection):
            rejected.append(item)
            continue

        def reject(reason: str, item: RawArticle = item) -> None:
            rejected.append(Rejection(file=item.file, line=item.line, id=item.id, reason=reason))

        if not item.id or not SLUG.match(item.id):
            reject("id: must be a slug (a-z, 0-9, - and _)" if item.id else "id: missing")
            continue
        if item.id in first_seen:
            first = first_seen[item.id]
            reject(f"duplicate id; first seen in {first.file} line {first.line}")
            continue
        try:
            article_in = ArticleIn.model_validate({"language": default_language, **item.fields})
        except ValidationError as exc:
            reject(_reason(exc))
            continue
        first_seen[item.id] = item
        good.append((item, article_in))
    return good, rejected


def _existing(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        for article in session.scalars(
            select(Article).where(Article.id.in_(ids[start : start + CHUNK]))
        ):
            found[article.id] = revisions.content_of(article)
    return found


def _translation_conflicts(
    session: Session, good: list[tuple[RawArticle, ArticleIn]]
) -> dict[str, str]:
    """id -> reason for the rows that would put two articles of one language in a group."""
    batch_ids = {raw.id for raw, _ in good}
    groups = list({a.translation_group for _, a in good if a.translation_group})
    slots: dict[tuple[str, str], str] = {}
    for start in range(0, len(groups), CHUNK):
        rows = session.execute(
            select(Article.translation_group, Article.language, Article.id).where(
                Article.translation_group.in_(groups[start : start + CHUNK])
            )
        )
        for group, language, article_id in rows:
            if article_id not in batch_ids:  # rows in the batch are decided by their new content
                slots[(group, language)] = article_id
    conflicts: dict[str, str] = {}
    for raw, article in good:
        if not article.translation_group:
            continue
        slot = (article.translation_group, article.language)
        holder = slots.setdefault(slot, raw.id or "")
        if holder != raw.id:
            conflicts[raw.id or ""] = (
                f"translation group {slot[0]!r} already has a {slot[1]!r} article: {holder!r}"
            )
    return conflicts


def import_articles(
    *,
    session: Session,
    parsed: Sequence[Parsed],
    author: str,
    atomic: bool = False,
    default_language: str = "en",
    source: str = "import",
    progress: Progress | None = None,
) -> ImportReport:
    good, rejected = validate(parsed, default_language=default_language)
    conflicts = _translation_conflicts(session, good)
    if conflicts:
        rejected += [
            Rejection(file=raw.file, line=raw.line, id=raw.id, reason=conflicts[raw.id or ""])
            for raw, _ in good
            if raw.id in conflicts
        ]
        good = [(raw, a) for raw, a in good if raw.id not in conflicts]
    existing = _existing(session, [raw.id for raw, _ in good if raw.id])
    report = ImportReport(rejected=rejected, atomic=atomic)
    plan: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for raw, article_in in good:
        article_id, after = raw.id or "", article_in.model_dump()
        before = existing.get(article_id)
        if before == after:
            report.unchanged += 1
            continue
        plan.append((article_id, after, before))
        (report.updated_ids if before else report.created_ids).append(article_id)
    report.created, report.updated = len(report.created_ids), len(report.updated_ids)
    if atomic and report.rejected:
        raise ImportRejected(report)
    _write(session, plan, author=author, source=source, progress=progress)
    if plan:
        audit.record(
            session=session,
            author=author,
            action="kb.imported",
            target=None,
            source=source,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        )
        session.flush()
        bump_version(session=session)
    return report


def _write(
    session: Session,
    plan: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
    *,
    author: str,
    source: str,
    progress: Progress | None,
) -> None:
    numbers = revisions.next_numbers(session=session, article_ids=[p[0] for p in plan])
    now = utcnow()
    for start in range(0, len(plan), CHUNK):
        chunk = plan[start : start + CHUNK]
        new = [
            {"id": i, **after, "created_at": now, "updated_at": now}
            for i, after, b in chunk
            if b is None
        ]
        changed = [{"id": i, **after, "updated_at": now} for i, after, b in chunk if b is not None]
        if new:
            session.execute(insert(Article), new)
        if changed:
            session.execute(update(Article), changed)
        history = [
            revisions.revision_values(
                article_id=article_id,
                number=numbers[article_id],
                action="updated" if before else "created",
                source=source,
                author=author,
                before=before,
                after=after,
            )
            for article_id, after, before in chunk
        ]
        session.execute(insert(ArticleRevision), [{**r, "created_at": now} for r in history])
        session.execute(
            insert(AuditEntry),
            [
                {
                    "created_at": now,
                    "author": author,
                    "action": f"article.{r['action']}",
                    "target": r["article_id"],
                    "details": {"revision": r["number"], "source": source, "changed": r["changed"]},
                }
                for r in history
            ],
        )
        if progress:
            progress(min(start + CHUNK, len(plan)), len(plan))


def files_to_import(path: Path) -> list[Path]:
    """A file, or every importable file under a folder."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    return [path]
