"""The log of questions asked of the knowledge base, kept redacted for gap analysis."""

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import QuestionRow


class QuestionOutcome(StrEnum):
    ANSWERED = "answered"
    ABSTAINED = "abstained"


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
    ) -> int:
        """Store a question that has already been redacted; return its id."""
        row = QuestionRow(
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
            return int(row.id)
