"""Analytics tables: per-conversation facts, daily roll-ups, and the queue that keeps them current.

Nothing here is a source of truth: every row is derived from conversations, messages, feedback
and handoffs by `app.analytics.rollup`, and can be rebuilt from them at any time.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.conversations.models import BigId
from app.db import Base, JSONType, UTCDateTime, utcnow


class DirtyConversation(Base):
    """A conversation whose facts must be recomputed; written in the same transaction as the
    change itself (a session listener), so no change is ever missed."""

    __tablename__ = "analytics_dirty"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationFacts(Base):
    """One row per conversation: what docs/METRICS.md counts, attributed to its start."""

    __tablename__ = "analytics_conversations"
    __table_args__ = (
        Index("ix_analytics_conversations_day_channel_language", "day", "channel", "language"),
    )

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    day: Mapped[date] = mapped_column(Date)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))  # "" when unknown
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    kb_questions: Mapped[int] = mapped_column(Integer)
    has_kb_question: Mapped[int] = mapped_column(Integer)
    smalltalk_only: Mapped[int] = mapped_column(Integer)
    direct_handoff: Mapped[int] = mapped_column(Integer)
    handed_off: Mapped[int] = mapped_column(Integer)  # a KB conversation that reached a person
    deflected: Mapped[int] = mapped_column(Integer)
    clarify_replies: Mapped[int] = mapped_column(Integer)
    clarify_taken: Mapped[int] = mapped_column(Integer)
    thumbs_up: Mapped[int] = mapped_column(Integer)
    thumbs_down: Mapped[int] = mapped_column(Integer)
    rating_sum: Mapped[int] = mapped_column(Integer)
    rating_count: Mapped[int] = mapped_column(Integer)
    final_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the conversation counts as an automated / durable resolution (None: never).
    auto_settles_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    durable_settles_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    next_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleFacts(Base):
    """Per conversation and article: answers served, their 👍/👎, handoffs right after them."""

    __tablename__ = "analytics_articles"
    __table_args__ = (Index("ix_analytics_articles_started_at", "started_at"),)

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    served: Mapped[int] = mapped_column(Integer)
    thumbs_up: Mapped[int] = mapped_column(Integer)
    thumbs_down: Mapped[int] = mapped_column(Integer)
    handoffs_after: Mapped[int] = mapped_column(Integer)


class HandoffFacts(Base):
    """Per handoff: its reason and durations, with the conversation's start for filtering."""

    __tablename__ = "analytics_handoffs"
    # Covering: the summary reads reasons and durations of a period from the index alone.
    __table_args__ = (
        Index(
            "ix_analytics_handoffs_started_at",
            "started_at",
            "channel",
            "language",
            "reason",
            "first_response_seconds",
            "resolution_seconds",
        ),
    )

    handoff_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    resolution_seconds: Mapped[float | None] = mapped_column(Float)


class DailyRollup(Base):
    """Sums of ConversationFacts per UTC day, channel and language.

    The time-dependent counts (automated, durable) are as of `computed_at`; `next_change_at`
    is the earliest moment one of them would change, when the refresher recomputes the row.
    """

    __tablename__ = "analytics_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    all_conversations: Mapped[int] = mapped_column(Integer)
    conversations: Mapped[int] = mapped_column(Integer)
    smalltalk_only: Mapped[int] = mapped_column(Integer)
    direct_handoff: Mapped[int] = mapped_column(Integer)
    handed_off: Mapped[int] = mapped_column(Integer)
    deflected: Mapped[int] = mapped_column(Integer)
    kb_questions: Mapped[int] = mapped_column(Integer)
    clarify_replies: Mapped[int] = mapped_column(Integer)
    clarify_taken: Mapped[int] = mapped_column(Integer)
    thumbs_up: Mapped[int] = mapped_column(Integer)
    thumbs_down: Mapped[int] = mapped_column(Integer)
    rating_sum: Mapped[int] = mapped_column(Integer)
    rating_count: Mapped[int] = mapped_column(Integer)
    automated: Mapped[int] = mapped_column(Integer)
    durable: Mapped[int] = mapped_column(Integer)
    next_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentGap(Base):
    """A topic of unanswered questions as last shown by GET /v1/analytics/gaps."""

    __tablename__ = "analytics_gaps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    draft_article_id: Mapped[str | None] = mapped_column(String(200))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
