"""interaction summaries

Summaries and wrap-ups kept with the interaction they describe, one row per
interaction, kind, generator and prompt version, with the fingerprint of the
interaction they were made from: a changed interaction gets a new one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interaction_summaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("interaction_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("generator", sa.String(length=100), nullable=False),
        sa.Column("prompt_version", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "interaction_id",
            "kind",
            "generator",
            "prompt_version",
            name="uq_interaction_summaries_version",
        ),
    )
    op.create_index(
        "ix_interaction_summaries_interaction_id",
        "interaction_summaries",
        ["interaction_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_interaction_summaries_interaction_id", "interaction_summaries")
    op.drop_table("interaction_summaries")
