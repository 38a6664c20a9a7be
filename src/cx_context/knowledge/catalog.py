"""Reading stored (redacted) records back."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import DocumentRow, InteractionRow, QuestionRow


@dataclass(frozen=True)
class StoredTurn:
    number: int
    speaker: str
    text: str
    timestamp: str | None = None


@dataclass(frozen=True)
class StoredInteraction:
    id: str
    channel: str
    source_system: str
    started_at: datetime | None
    ended_at: datetime | None
    intent: str | None
    outcome: str | None
    turns: list[StoredTurn]
    pii_counts: dict[str, int]
    content_hash: str


class Catalog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def interaction(self, interaction_id: str) -> StoredInteraction | None:
        with self._sessions() as session:
            row = session.get(InteractionRow, interaction_id)
            if row is None:
                return None
            return StoredInteraction(
                id=row.id,
                channel=row.channel,
                source_system=row.source_system,
                started_at=row.started_at,
                ended_at=row.ended_at,
                intent=row.intent,
                outcome=row.outcome,
                turns=[
                    StoredTurn(t["n"], t["speaker"], t["text"], t.get("timestamp"))
                    for t in row.turns
                ],
                pii_counts=dict(row.pii_counts or {}),
                content_hash=row.content_hash,
            )

    def existing_interactions(self, ids: list[str]) -> set[str]:
        """Which of these interaction ids are stored."""
        if not ids:
            return set()
        with self._sessions() as session:
            return set(
                session.scalars(
                    select(InteractionRow.id).where(InteractionRow.id.in_(ids))
                )
            )

    def counts(self) -> dict[str, int]:
        with self._sessions() as session:
            return {
                name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in (
                    ("documents", DocumentRow),
                    ("interactions", InteractionRow),
                    ("questions", QuestionRow),
                )
            }

    def chunk_counts(self) -> dict[str, int]:
        """Chunks each table says it has in the vector store."""
        with self._sessions() as session:
            return {
                "knowledge": int(
                    session.scalar(
                        select(func.coalesce(func.sum(DocumentRow.chunk_count), 0))
                    )
                    or 0
                ),
                "interactions": int(
                    session.scalar(
                        select(func.coalesce(func.sum(InteractionRow.chunk_count), 0))
                    )
                    or 0
                ),
            }
