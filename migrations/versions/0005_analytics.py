"""analytics: per-conversation facts, daily roll-ups, the refresh queue, content gaps

Revision ID: 0005
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _conversation_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["conversation_id"],
        ["conversations.id"],
        name=f"fk_{table}_conversation_id_conversations",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "analytics_dirty",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_dirty")),
    )
    op.create_table(
        "analytics_conversations",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", app.db.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("kb_questions", sa.Integer(), nullable=False),
        sa.Column("has_kb_question", sa.Integer(), nullable=False),
        sa.Column("smalltalk_only", sa.Integer(), nullable=False),
        sa.Column("direct_handoff", sa.Integer(), nullable=False),
        sa.Column("handed_off", sa.Integer(), nullable=False),
        sa.Column("deflected", sa.Integer(), nullable=False),
        sa.Column("clarify_replies", sa.Integer(), nullable=False),
        sa.Column("clarify_taken", sa.Integer(), nullable=False),
        sa.Column("thumbs_up", sa.Integer(), nullable=False),
        sa.Column("thumbs_down", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("final_answer_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("auto_settles_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("durable_settles_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("next_contact_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        _conversation_fk("analytics_conversations"),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_analytics_conversations")),
    )
    with op.batch_alter_table("analytics_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_conversations_day_channel_language",
            ["day", "channel", "language"],
            unique=False,
        )
        for column in ("started_at", "user_id", "auto_settles_at", "durable_settles_at"):
            batch_op.create_index(f"ix_analytics_conversations_{column}", [column], unique=False)

    op.create_table(
        "analytics_articles",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("started_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("thumbs_up", sa.Integer(), nullable=False),
        sa.Column("thumbs_down", sa.Integer(), nullable=False),
        sa.Column("handoffs_after", sa.Integer(), nullable=False),
        _conversation_fk("analytics_articles"),
        sa.PrimaryKeyConstraint(
            "conversation_id", "article_id", name=op.f("pk_analytics_articles")
        ),
    )
    with op.batch_alter_table("analytics_articles", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_articles_started_at", ["started_at"], unique=False)

    op.create_table(
        "analytics_handoffs",
        sa.Column("handoff_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("first_response_seconds", sa.Float(), nullable=True),
        sa.Column("resolution_seconds", sa.Float(), nullable=True),
        _conversation_fk("analytics_handoffs"),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_analytics_handoffs")),
    )
    with op.batch_alter_table("analytics_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_handoffs_started_at",
            [
                "started_at",
                "channel",
                "language",
                "reason",
                "first_response_seconds",
                "resolution_seconds",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_analytics_handoffs_conversation_id", ["conversation_id"], unique=False
        )

    op.create_table(
        "analytics_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "all_conversations",
                "conversations",
                "smalltalk_only",
                "direct_handoff",
                "handed_off",
                "deflected",
                "kb_questions",
                "clarify_replies",
                "clarify_taken",
                "thumbs_up",
                "thumbs_down",
                "rating_sum",
                "rating_count",
                "automated",
                "durable",
            )
        ),
        sa.Column("next_change_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("computed_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "language", name=op.f("pk_analytics_daily")),
    )
    with op.batch_alter_table("analytics_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_daily_next_change_at", ["next_change_at"], unique=False)

    op.create_table(
        "analytics_gaps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("questions", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("draft_article_id", sa.String(length=200), nullable=True),
        sa.Column("computed_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_gaps")),
    )
    # Conversations stored before this revision get their facts from the background refresher.
    op.execute(
        "INSERT INTO analytics_dirty (conversation_id, created_at) "
        "SELECT id, created_at FROM conversations"
    )


def downgrade() -> None:
    op.drop_table("analytics_gaps")
    op.drop_table("analytics_daily")
    op.drop_table("analytics_handoffs")
    op.drop_table("analytics_articles")
    op.drop_table("analytics_conversations")
    op.drop_table("analytics_dirty")
