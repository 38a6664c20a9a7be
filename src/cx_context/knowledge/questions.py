"""The log of questions asked of the knowledge base, kept redacted for gap analysis."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import QuestionRow, RetrievalRow, utcnow
from cx_context.knowledge.errors import KnowledgeError
from cx_context.knowledge.records import Channel


class QuestionOutcome(StrEnum):
    ANSWERED = "answered"
    ABSTAINED = "abstained"


class UnknownQuestionError(KnowledgeError, LookupError):
    """A question id the log does not hold."""


def parse_channel(value: Channel | str | None) -> Channel | None:
    """The channel a question came from, or None when it was not said."""
    if value is None or isinstance(value, Channel):
        return value
    try:
        return Channel(value.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise ValueError(f"channel must be one of {allowed}; got {value!r}") from None


@dataclass(frozen=True)
class Escalation:
    """A question after which the customer was handed to a person."""

    question_id: int
    escalated_at: datetime
    escalated_by: str | None
    already: bool  # it had been marked before; the first mark is kept


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
    channel: str | None = None  # None: the caller did not say
    escalated: bool = False  # handed to a person after it


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
        channel: Channel | str | None = None,
    ) -> int:
        """Store a question that has already been redacted; return its id."""
        asked_at = utcnow()
        known = parse_channel(channel)
        row = QuestionRow(
            asked_at=asked_at,
            question=question,
            outcome=outcome.value,
            best_score=best_score,
            filters=dict(filters or {}),
            cited_chunks=list(cited_chunks),
            pii_counts=dict(pii_counts or {}),
            channel=None if known is None else known.value,
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

    def mark_escalated(
        self, question_id: int, by: str | None = None, at: datetime | None = None
    ) -> Escalation:
        """Record that the customer was handed to a person after this question.

        Marking a question again changes nothing: the first mark is kept.
        `by` names the caller (a key id or a role), never the customer.
        """
        with self._sessions.begin() as session:
            row = session.get(QuestionRow, question_id, with_for_update=True)
            if row is None:
                raise UnknownQuestionError(f"no question with id {question_id}")
            if row.escalated_at is not None:
                first = row.escalated_at
                if first.tzinfo is None:  # SQLite gives back naive UTC times
                    first = first.replace(tzinfo=UTC)
                return Escalation(row.id, first, row.escalated_by, True)
            row.escalated_at = at or utcnow()
            row.escalated_by = by
            return Escalation(row.id, row.escalated_at, by, False)

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
                    channel=row.channel,
                    escalated=row.escalated_at is not None
                    or row.outcome == "escalated",
                )
                for row in session.scalars(query)
            ]
