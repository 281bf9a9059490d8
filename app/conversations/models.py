"""Conversations, every message in them, and customers' feedback on answers."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    user_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    # bot: the bot answers; handoff: a person has it (or will); closed: ended.
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Article ids offered in the last clarify, so "2" or a button click can pick one.
    pending_choices: Mapped[list[str]] = mapped_column(JSONType, default=list)
    miss_streak: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id_id", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # customer, bot, operator or system
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    # For bot replies: answered, clarify, handoff or smalltalk.
    status: Mapped[str | None] = mapped_column(String(16), index=True)
    article_id: Mapped[str | None] = mapped_column(String(200), index=True)
    intent: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    # The decision's explanation: candidates with scores, matched terms, normalized text.
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)  # +1 helpful, -1 not helpful
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatReceipt(Base):
    """The response to a chat request sent with an Idempotency-Key, so that a client that
    retries after losing the answer (a dropped connection, a worker killed after its commit)
    gets the same answer instead of a second turn. Kept a day (RECEIPT_HOURS)."""

    __tablename__ = "chat_receipts"

    # sha256 of the channel, the customer's id and the client's key: keys are the client's,
    # so two customers may well pick the same one.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # sha256 of the request body: the same key with another body is refused, not replayed.
    fingerprint: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
