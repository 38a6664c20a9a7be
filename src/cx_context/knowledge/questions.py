"""The log of questions asked of the knowledge base, kept redacted for gap analysis."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import QuestionRow, RetrievalRow, utcnow


class QuestionOutcome(StrEnum):
    ANSWERED = "answered"
    ABSTAINED = "abstained"


@dataclass(frozen=True)
class Retrieved:
    """A passage a question retrieved, best first."""

    document_id: str
    chunk_id: str
    score: float


@dataclass(frozen=True)
class StoredQuestion:
    """A question as stored: redacted text, outcome, best score, retrievals."""

    id: int
    asked_at: datetime
    question: str
    outcome: str
    best_score: float | None
    filters: dict[str, Any]
    retrieved: tuple[Retrieved, ...]
    # The log does not record these yet: every question reads as from an
    # unknown channel, and only an "escalated" outcome counts as a handoff.
    channel: str | None = None
    escalated: bool = False


class QuestionLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
        self,
        question: str,
        outcome: QuestionOutcome,
        best_score: float | None,
        filters: Mapping[str, Any] | None = None,
        cited_chunks: Sequence[str] = (),
        pii_counts: Mapping[str, int] | None = None,
        *,
        retrieved: Sequence[Retrieved] = (),
    ) -> int:
        """Store a question that has already been redacted; return its id."""
        asked_at = utcnow()
        row = QuestionRow(
            asked_at=asked_at,
            question=question,
            outcome=outcome.value,
            best_score=best_score,
            filters=dict(filters or {}),
            cited_chunks=list(cited_chunks),
            pii_counts=dict(pii_counts or {}),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            session.add_all(
                RetrievalRow(
                    question_id=row.id,
                    asked_at=asked_at,
                    document_id=hit.document_id,
                    chunk_id=hit.chunk_id,
                    rank=rank,
                    score=hit.score,
                )
                for rank, hit in enumerate(retrieved, start=1)
            )
            return int(row.id)

    def between(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[StoredQuestion]:
        """Stored questions asked in [since, until), oldest first, with retrievals."""
        query = select(QuestionRow).order_by(QuestionRow.id)
        hits = select(RetrievalRow).order_by(
            RetrievalRow.question_id, RetrievalRow.rank
        )
        if since is not None:
            query = query.where(QuestionRow.asked_at >= since)
            hits = hits.where(RetrievalRow.asked_at >= since)
        if until is not None:
            query = query.where(QuestionRow.asked_at < until)
            hits = hits.where(RetrievalRow.asked_at < until)
        with self._sessions() as session:
            retrieved: dict[int, list[Retrieved]] = {}
            for hit in session.scalars(hits):
                retrieved.setdefault(hit.question_id, []).append(
                    Retrieved(hit.document_id, hit.chunk_id, hit.score)
                )
            return [
                StoredQuestion(
                    id=row.id,
                    asked_at=row.asked_at,
                    question=row.question,
                    outcome=row.outcome,
                    best_score=row.best_score,
                    filters=dict(row.filters or {}),
                    retrieved=tuple(retrieved.get(row.id, ())),
                    escalated=row.outcome == "escalated",
                )
                for row in session.scalars(query)
            ]
