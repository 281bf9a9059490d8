"""kb editing: categories, one language per translation group, revisions, audit log,
regression set

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("categories", JSON, server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.create_index(
            "ix_articles_translation_group_language",
            ["translation_group", "language"],
            unique=True,
        )

    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("changed", JSON, nullable=False),
        sa.Column("diff", JSON, nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_revisions")),
        sa.UniqueConstraint("article_id", "number", name=op.f("uq_article_revisions_article_id")),
    )
    op.create_index(
        op.f("ix_article_revisions_article_id"), "article_revisions", ["article_id"], unique=False
    )

    op.create_table(
        "kb_audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_audit_log")),
    )
    op.create_index(op.f("ix_kb_audit_log_author"), "kb_audit_log", ["author"], unique=False)
    op.create_index(
        op.f("ix_kb_audit_log_created_at"), "kb_audit_log", ["created_at"], unique=False
    )
    op.create_index(op.f("ix_kb_audit_log_target"), "kb_audit_log", ["target"], unique=False)

    op.create_table(
        "kb_regression_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("expected_article_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_regression_items")),
    )


def downgrade() -> None:
    op.drop_table("kb_regression_items")
    op.drop_index(op.f("ix_kb_audit_log_target"), table_name="kb_audit_log")
    op.drop_index(op.f("ix_kb_audit_log_created_at"), table_name="kb_audit_log")
    op.drop_index(op.f("ix_kb_audit_log_author"), table_name="kb_audit_log")
    op.drop_table("kb_audit_log")
    op.drop_index(op.f("ix_article_revisions_article_id"), table_name="article_revisions")
    op.drop_table("article_revisions")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_translation_group_language")
        batch_op.drop_column("categories")
