"""Knowledge-base tables: articles, the version counter workers watch, and synonyms."""

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    translation_group: Mapped[str | None] = mapped_column(String(200), index=True)
    always_handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_threshold: Mapped[float | None] = mapped_column(Float)
    handoff_threshold: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


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
