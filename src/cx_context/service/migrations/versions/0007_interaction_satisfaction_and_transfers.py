"""interaction satisfaction and transfers

What the continuity scorecard needs that interactions did not record: the
customer's survey score or sentiment label, and the contact a transfer came
from.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("satisfaction_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("sentiment", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("transferred_from", sa.String(length=200), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("transferred_from")
        batch.drop_column("sentiment")
        batch.drop_column("satisfaction_score")
