"""Knowledge-base tables: articles, their revisions, the audit log, the version counter workers
watch, synonyms and the regression set."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


class Article(Base):
    __tablename__ = "articles"
    # One article per language in a translation group; NULL groups never collide.
    __table_args__ = (
        Index(
            "ix_articles_translation_group_language",
            "translation_group",
            "language",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    categories: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    translation_group: Mapped[str | None] = mapped_column(String(200), index=True)
    always_handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_threshold: Mapped[float | None] = mapped_column(Float)
    handoff_threshold: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ArticleRevision(Base):
    """One change to one article: who, when, what changed, and the content after it.

    No foreign key to `articles`: the history of a deleted article stays, so it can be restored.
    For a deletion, `content` is what the article was before it went.
    """

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # created, updated, deleted, restored
    source: Mapped[str] = mapped_column(String(32), default="api")  # api, import, restore, ...
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed: Mapped[list[str]] = mapped_column(JSONType, default=list)
    diff: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class AuditEntry(Base):
    """Every knowledge-base change with its author, newest last."""

    __tablename__ = "kb_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    author: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class RegressionItem(Base):
    """A real customer question and the article that must answer it."""

    __tablename__ = "kb_regression_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(1000))
    expected_article_id: Mapped[str] = mapped_column(String(200))


class KnowledgeBaseState(Base):
    """A single row whose version grows with every change, so every worker knows to rebuild."""

    __tablename__ = "kb_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Synonym(Base):
    __tablename__ = "synonyms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    replacement: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="")
