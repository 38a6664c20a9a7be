"""The relational store: redacted records, the ingestion ledger and the question log.

SQLite in the data directory by default; any SQLAlchemy URL (PostgreSQL) works
with the same models.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class DocumentRow(Base):
    """A knowledge document as stored: redacted sections and its content hash."""

    __tablename__ = "knowledge_documents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    audience: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sections: Mapped[list[Any]] = mapped_column(JSON)
    pii_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    chunk_count: Mapped[int] = mapped_column(Integer)
    ingested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class InteractionRow(Base):
    """An interaction as stored: redacted turns; identifiers only by their kinds."""

    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    source_system: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    identifier_kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    turns: Mapped[list[Any]] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(200))
    # A survey score (1 to 5) or a sentiment label, when the source gives one.
    satisfaction_score: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[str | None] = mapped_column(String(20))
    # The contact this one was transferred from (chat to voice, say).
    transferred_from: Mapped[str | None] = mapped_column(String(200))
    pii_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    chunk_count: Mapped[int] = mapped_column(Integer)
    ingested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class QuestionRow(Base):
    """A question asked of the knowledge base (redacted), with how it was answered."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    question: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    best_score: Mapped[float | None] = mapped_column(Float)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cited_chunks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    pii_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the question came from (a `records.Channel` value), when told.
    channel: Mapped[str | None] = mapped_column(String(20))
    # Set when the customer was handed to a person after this question.
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_by: Mapped[str | None] = mapped_column(String(100))


class RetrievalRow(Base):
    """A passage a stored question retrieved: what content health counts."""

    __tablename__ = "question_retrievals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(Integer, index=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    document_id: Mapped[str] = mapped_column(String(200), index=True)
    chunk_id: Mapped[str] = mapped_column(String(300))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            # WAL lets the API read while an ingest writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def make_sessions(engine: Engine) -> sessionmaker[Any]:
    """Sessions on an engine whose schema is current (see `service.migrate`)."""
    return sessionmaker(engine, expire_on_commit=False)
