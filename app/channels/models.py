"""What the messenger channels store: inbound events seen (for idempotency) and the outbox."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.conversations.models import BigId
from app.db import Base, JSONType, UTCDateTime, utcnow

OUTBOX_STATUSES = ("pending", "sent", "failed")


class InboundEvent(Base):
    """One webhook event a platform delivered; the unique key makes a redelivery a no-op."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    # Telegram update_id, Messenger mid, WhatsApp wamid, VK message id.
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMessage(Base):
    """One request to a messenger's API, kept until it is delivered or given up on."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_channel_recipient_status_id", "channel", "recipient", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    # Telegram chat id, Messenger PSID, WhatsApp number, VK peer id.
    recipient: Mapped[str] = mapped_column(String(200))
    # {"op": <API method>, "body": {...}}: the adapter adds the URL and credentials when sending.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A sender owns a row while lease_until is in the future; an expired lease (a worker that
    # died mid-send) lets another sender take the row over.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
