"""handoff: the operator queue, the event log, phrasing suggestions

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("operator_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("queued_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("first_response_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("last_operator_message_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("resolution_article_id", sa.String(length=200), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("candidates", JSON, nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("trigger_message_id", BIG_ID, nullable=True),
        sa.Column("customer_notified_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("previous_handoff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_handoffs_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoffs_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_handoffs_status_created_at", ["status", "created_at"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_audience_id", ["audience", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_events_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "kb_suggestions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("phrasing", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("decided_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_kb_suggestions_handoff_id_handoffs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_suggestions")),
    )
    with op.batch_alter_table("kb_suggestions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_suggestions_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kb_suggestions_handoff_id"), ["handoff_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_suggestions_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("kb_suggestions")
    op.drop_table("events")
    op.drop_table("handoffs")
