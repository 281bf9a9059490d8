"""The operator queue: handoffs, the cross-process event log, phrasings learnt from operators."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.conversations.models import BigId
from app.db import Base, JSONType, UTCDateTime, utcnow

REASONS = (
    "low_confidence",
    "clarify_ignored",
    "human_request",
    "customer_button",
    "repeated_failure",
    "negative_sentiment",
    "article_requires_person",
)
STATUSES = ("waiting", "assigned", "resolved")


class Handoff(Base):
    """One stay of a conversation with people: from the bot giving up to an operator's resolve."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    operator_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it last entered the queue (creation, release, or the SLA sending it back).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_operator_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_article_id: Mapped[str | None] = mapped_column(String(200))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # The bot's top articles with scores: [{"id", "title", "score"}].
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # The customer's question the bot could not answer; proposed as a phrasing on resolve.
    question: Mapped[str | None] = mapped_column(Text)
    trigger_message_id: Mapped[int | None] = mapped_column(BigId)
    # When the customer was last told their place in the queue (once per stay in the queue).
    customer_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the customer wrote again soon after a resolve and went back to the same operator.
    previous_handoff_id: Mapped[int | None] = mapped_column(Integer)


class Event(Base):
    """Append-only log that SSE streams in every worker and replica poll (`id > last`)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_audience_id", "audience", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    audience: Mapped[str] = mapped_column(String(16))  # operator or customer
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhrasingSuggestion(Base):
    """A customer's wording an operator answered with an article, waiting for an editor."""

    __tablename__ = "kb_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    phrasing: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="SET NULL"), index=True
    )
    # pending, approved or rejected
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    proposed_by: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
