"""risk log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = ("occurred_at", "request_id", "category", "decision")


def upgrade() -> None:
    op.create_table(
        "risk_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("actor_role", sa.String(length=100), nullable=False),
        sa.Column("actor_purpose", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("detector", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("prev_hash"),
        sa.UniqueConstraint("row_hash"),
    )
    with op.batch_alter_table("risk_log", schema=None) as batch_op:
        for column in _INDEXED:
            batch_op.create_index(
                batch_op.f(f"ix_risk_log_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("risk_log", schema=None) as batch_op:
        for column in _INDEXED:
            batch_op.drop_index(batch_op.f(f"ix_risk_log_{column}"))
    op.drop_table("risk_log")
