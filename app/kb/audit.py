"""The audit log: every knowledge-base change with its author."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.kb.models import AuditEntry


def entry(*, author: str, action: str, target: str | None, **details: Any) -> AuditEntry:
    return AuditEntry(author=author, action=action, target=target, details=details)


def record(
    *, session: Session, author: str, action: str, target: str | None = None, **details: Any
) -> AuditEntry:
    row = entry(author=author, action=action, target=target, **details)
    session.add(row)
    return row


def list_entries(
    *,
    session: Session,
    author: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Newest first."""
    query = select(AuditEntry)
    if author:
        query = query.where(AuditEntry.author == author)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), total
