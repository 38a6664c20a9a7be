"""question retrievals

Which passages each stored question retrieved, with rank and score, so that
knowledge owners can see how often an article is retrieved, which articles are
never retrieved, and which articles came nearest to a question nothing answered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 04:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question_retrievals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("chunk_id", sa.String(length=300), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_question_retrievals_question_id", "question_retrievals", ["question_id"]
    )
    op.create_index(
        "ix_question_retrievals_document_id", "question_retrievals", ["document_id"]
    )
    op.create_index(
        "ix_question_retrievals_asked_at", "question_retrievals", ["asked_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_question_retrievals_asked_at", "question_retrievals")
    op.drop_index("ix_question_retrievals_document_id", "question_retrievals")
    op.drop_index("ix_question_retrievals_question_id", "question_retrievals")
    op.drop_table("question_retrievals")
