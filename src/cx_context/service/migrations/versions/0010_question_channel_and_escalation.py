"""question channel and escalation

Where a stored question came from (bot, chat, voice, email, social, web form)
and whether the customer was handed to a person after it, so that content gaps
can say which channels they come from and how often they end in a handoff.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("escalated_by", sa.String(length=100), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("escalated_by")
        batch.drop_column("escalated_at")
        batch.drop_column("channel")
