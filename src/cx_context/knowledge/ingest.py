"""Ingestion: validate, redact, chunk, embed and store records, idempotently.

Order of work for one batch of records:

1. Reject what is invalid or over the limits, and skip what is unchanged: a
   record's content hash covers its canonical form and the pipeline settings
   (redaction policy, chunking, embedding model), so re-ingesting the same
   input adds nothing, and changing a setting re-processes everything.
2. Redact every text with the guardrails before anything else sees it.
3. Chunk and embed the redacted texts of the whole batch at once.
4. Per record: write the new chunks, drop the chunks of its older versions,
   then commit its row. A crash at any point leaves a state that the next run
   of the same input repairs, because the row's hash only changes last.

Two ingests of the same record id at once (two requests with different text
for one interaction) write one after the other: step 4 runs under a lock of
that id, and reads the stored hash again inside it, so each request reports
what it did to the record as it found it, and the stores end with one version
whole. The lock holds within one process; on PostgreSQL it is also a
transaction-scoped advisory lock, which holds across worker processes and
hosts. With SQLite, processes that share one data directory are not kept
apart: run one service process per SQLite data directory.
"""

import hashlib
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.guardrails import (
    CONTENT_POLICY,
    CONVERSATION_POLICY,
    KnownValue,
    PiiRedactor,
    PseudonymMap,
    RedactionError,
    RedactionPolicy,
)
from cx_context.guardrails.injection import InjectionScreen, ScreenResult
from cx_context.guardrails.pseudonyms import Replacement
from cx_context.guardrails.risk_events import quarantined_chunk
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Versions
from cx_context.guardrails.vault import PseudonymVault
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.chunking import (
    Chunk,
    Chunker,
    MetadataValue,
    SectionText,
    TurnText,
)
from cx_context.knowledge.database import DocumentRow, InteractionRow
from cx_context.knowledge.embedding import Embedder
from cx_context.knowledge.errors import RecordProblem, SourceError
from cx_context.knowledge.records import IdentifierKind, Interaction, KnowledgeDocument
from cx_context.knowledge.vectorstore import Collection, VectorStore

logger = logging.getLogger(__name__)

# Interaction fields added after the first records were stored (migration 0007).
_ADDED_LATER = ("satisfaction_score", "sentiment", "transferred_from")

# The entity type a customer identifier is redacted as, wherever it appears.
IDENTIFIER_ENTITY = {
    IdentifierKind.EMAIL: "EMAIL_ADDRESS",
    IdentifierKind.PHONE: "PHONE_NUMBER",
    IdentifierKind.ACCOUNT_NUMBER: "ACCOUNT_ID",
    IdentifierKind.USERNAME: "USERNAME",
    IdentifierKind.CRM_ID: "ACCOUNT_ID",
    IdentifierKind.EXTERNAL_ID: "ACCOUNT_ID",
    IdentifierKind.ORDER_ID: "ORDER_ID",
    IdentifierKind.NAME: "PERSON",
    IdentifierKind.STREET_ADDRESS: "STREET_ADDRESS",
    IdentifierKind.POSTCODE: "POSTCODE",
    IdentifierKind.DATE_OF_BIRTH: "DATE_OF_BIRTH",
}


class Outcome(StrEnum):
    ADDED = "added"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"
    REJECTED = "rejected"


@dataclass(frozen=True)
class IngestLimits:
    max_text_chars: int = 20_000
    max_parts: int = 2_000  # turns of an interaction, sections of a document

    def __post_init__(self) -> None:
        if self.max_text_chars <= 0:
            raise ValueError(f"max_text_chars must be > 0, got {self.max_text_chars}")
        if self.max_parts <= 0:
            raise ValueError(f"max_parts must be > 0, got {self.max_parts}")


@dataclass(frozen=True)
class RecordOutcome:
    position: int
    record_id: str | None
    outcome: Outcome
    chunks: int = 0
    problem: str | None = None
    unit: str = "record"

    @property
    def where(self) -> str:
        where = f"{self.unit} {self.position}"
        return f"{where} (id {self.record_id})" if self.record_id else where


@dataclass
class IngestReport:
    """What happened to every record of one ingest."""

    source: str
    records: list[RecordOutcome] = field(default_factory=list)
    chunks_written: int = 0
    chunks_removed: int = 0
    source_error: str | None = None
    # Knowledge chunks the injection screen flagged: stored, never retrieved.
    quarantined: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: f"ingest-{uuid.uuid4().hex[:12]}")

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(record.outcome.value for record in self.records)
        return {outcome.value: counted.get(outcome.value, 0) for outcome in Outcome}

    @property
    def problems(self) -> list[RecordOutcome]:
        return [record for record in self.records if record.outcome is Outcome.REJECTED]

    @property
    def ok(self) -> bool:
        return self.source_error is None and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "counts": self.counts,
            "chunks_written": self.chunks_written,
            "chunks_removed": self.chunks_removed,
            "source_error": self.source_error,
            "quarantined": self.quarantined,
            "rejected": [
                {
                    "position": r.position,
                    "unit": r.unit,
                    "id": r.record_id,
                    "problem": r.problem,
                }
                for r in self.problems
            ],
        }


@dataclass
class _Prepared:
    """A record that passed the checks and will be written."""

    position: int
    record_id: str
    content_hash: str
    replaces: bool
    row: DocumentRow | InteractionRow
    chunks: list[Chunk]
    unit: str
    flagged: dict[str, ScreenResult] = field(default_factory=dict)
    # For interactions: what each placeholder of each turn replaced, for the vault.
    pseudonyms: list[tuple[int, tuple[Replacement, ...]]] = field(default_factory=list)


Progress = Callable[[int], None]

# Writes of one record id are serialized by one of these, chosen by the id's
# hash: a fixed set, so that memory does not grow with the ids ever seen.
_WRITE_LOCKS = tuple(threading.Lock() for _ in range(64))


def _record_key(collection: Collection, record_id: str) -> int:
    """A signed 64-bit number for a record, as PostgreSQL advisory locks take."""
    digest = hashlib.sha256(f"{collection.value}\0{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


T = TypeVar("T")


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Ingestor:
    """Writes knowledge documents and interactions into the stores, redacted."""

    def __init__(
        self,
        redactor: PiiRedactor,
        embedder: Embedder,
        store: VectorStore,
        sessions: sessionmaker[Session],
        chunker: Chunker | None = None,
        limits: IngestLimits | None = None,
        batch_size: int = 32,
        screen: InjectionScreen | None = None,
        risk_log: RiskLog | None = None,
        vault: PseudonymVault | None = None,
    ) -> None:
        self._redactor = redactor
        self._embedder = embedder
        self._store = store
        self._sessions = sessions
        self._chunker = chunker or Chunker()
        self._limits = limits or IngestLimits()
        self._batch_size = batch_size
        self._screen = screen
        self._risk_log = risk_log
        self._vault = vault

    def _pipeline_fingerprint(
        self, policy: RedactionPolicy, collection: Collection
    ) -> str:
        entities = ",".join(sorted(policy.entities))
        screen = f"|{self._screen.fingerprint}" if self._screen else ""
        # Turning the vault on re-processes interactions once, so that every
        # stored one has its mappings kept.
        if self._vault is not None and collection is Collection.INTERACTIONS:
            screen += "|vault"
        return (
            f"redact:{policy.name}:{entities}:{policy.score_threshold}|"
            f"{self._chunker.fingerprint}|embed:{self._embedder.model_name}{screen}"
        )

    def _hash(
        self,
        record: KnowledgeDocument | Interaction,
        policy: RedactionPolicy,
        collection: Collection,
    ) -> str:
        # Fields added after records were first stored count only when set, so
        # that records stored before them keep their hash and are not redone.
        later = {name for name in _ADDED_LATER if getattr(record, name, None) is None}
        canonical = json.dumps(
            record.model_dump(mode="json", exclude=later),
            sort_keys=True,
            ensure_ascii=False,
        )
        payload = (
            f"{self._pipeline_fingerprint(policy, collection)}\n{canonical}".encode()
        )
        return hashlib.sha256(payload).hexdigest()

    # -- public entry points ------------------------------------------------

    def ingest_documents(
        self,
        items: Iterable[Parsed[KnowledgeDocument]],
        source: str = "request",
        progress: Progress | None = None,
    ) -> IngestReport:
        return self._ingest(items, source, Collection.KNOWLEDGE, progress)

    def ingest_interactions(
        self,
        items: Iterable[Parsed[Interaction]],
        source: str = "request",
        progress: Progress | None = None,
    ) -> IngestReport:
        return self._ingest(items, source, Collection.INTERACTIONS, progress)

    # -- the pipeline -------------------------------------------------------

    def _ingest(
        self,
        items: Iterable[Parsed[Any]],
        source: str,
        collection: Collection,
        progress: Progress | None,
    ) -> IngestReport:
        report = IngestReport(source=source)
        seen: dict[str, int] = {}
        try:
            for batch in _batched(items, self._batch_size):
                self._ingest_batch(batch, source, collection, report, seen)
                if progress:
                    progress(len(batch))
        except SourceError as exc:
            report.source_error = str(exc)
        report.records.sort(key=lambda record: record.position)
        logger.info(
            "ingest of %s into %s: %s, %d chunks written, %d removed",
            source,
            collection.value,
            report.counts,
            report.chunks_written,
            report.chunks_removed,
        )
        return report

    def _ingest_batch(
        self,
        batch: Sequence[Parsed[Any]],
        source: str,
        collection: Collection,
        report: IngestReport,
        seen: dict[str, int],
    ) -> None:
        row_type = DocumentRow if collection is Collection.KNOWLEDGE else InteractionRow
        policy = (
            CONTENT_POLICY
            if collection is Collection.KNOWLEDGE
            else CONVERSATION_POLICY
        )
        ids = [item.record.id for item in batch if item.record is not None]
        with self._sessions() as session:
            stored = dict(
                session.execute(
                    select(row_type.id, row_type.content_hash).where(
                        row_type.id.in_(ids)
                    )
                ).all()
            )

        prepared: list[_Prepared] = []
        for item in batch:
            record = item.record
            if record is None:
                problem = item.problem or RecordProblem(
                    source, item.position, "unreadable record"
                )
                report.records.append(
                    _rejected(
                        item.position, problem.record_id, problem.message, item.unit
                    )
                )
                continue
            if record.id in seen:
                message = (
                    f"duplicate id {record.id!r}: "
                    f"the same id is record {seen[record.id]} of this input"
                )
                report.records.append(
                    _rejected(item.position, record.id, message, item.unit)
                )
                continue
            seen[record.id] = item.position
            limit_problem = self._check_limits(record)
            if limit_problem:
                report.records.append(
                    _rejected(item.position, record.id, limit_problem, item.unit)
                )
                continue
            content_hash = self._hash(record, policy, collection)
            if stored.get(record.id) == content_hash:
                report.records.append(
                    RecordOutcome(
                        item.position, record.id, Outcome.UNCHANGED, unit=item.unit
                    )
                )
                continue
            row: DocumentRow | InteractionRow
            pseudonyms: list[tuple[int, tuple[Replacement, ...]]] = []
            try:
                if isinstance(record, KnowledgeDocument):
                    row, chunks = self._prepare_document(record, content_hash)
                else:
                    row, chunks, pseudonyms = self._prepare_interaction(
                        record, content_hash
                    )
            except RedactionError as exc:
                report.records.append(
                    _rejected(item.position, record.id, str(exc), item.unit)
                )
                continue
            prepared.append(
                _Prepared(
                    item.position,
                    record.id,
                    content_hash,
                    record.id in stored,
                    row,
                    chunks,
                    item.unit,
                    pseudonyms=pseudonyms,
                )
            )

        if not prepared:
            return
        if collection is Collection.KNOWLEDGE:
            self._quarantine(prepared)
        all_chunks = [chunk for entry in prepared for chunk in entry.chunks]
        vectors = self._embedder.embed([chunk.text for chunk in all_chunks])
        offset = 0
        for entry in prepared:
            entry_vectors = vectors[offset : offset + len(entry.chunks)]
            offset += len(entry.chunks)
            outcome = self._write(entry, entry_vectors, collection, report)
            report.records.append(outcome)
            if entry.flagged and outcome.outcome is not Outcome.REJECTED:
                self._log_quarantine(entry, source, report)

    def _quarantine(self, prepared: list[_Prepared]) -> None:
        """Screen every knowledge chunk; flagged ones are marked quarantined."""
        if self._screen is None:
            return
        chunks = [chunk for entry in prepared for chunk in entry.chunks]
        results = iter(self._screen.screen_many([chunk.text for chunk in chunks]))
        for entry in prepared:
            marked = []
            for chunk in entry.chunks:
                result = next(results)
                if result.flagged:
                    entry.flagged[chunk.id] = result
                marked.append(
                    replace(
                        chunk,
                        metadata={**chunk.metadata, "quarantined": result.flagged},
                    )
                )
            entry.chunks = marked

    def _log_quarantine(
        self, entry: _Prepared, source: str, report: IngestReport
    ) -> None:
        texts = {chunk.id: chunk.text for chunk in entry.chunks}
        for chunk_id, result in entry.flagged.items():
            report.quarantined.append(chunk_id)
            logger.warning(
                "knowledge chunk %s of %s quarantined by the injection screen (%s)",
                chunk_id,
                source,
                ", ".join(result.fired),
            )
            if self._risk_log is not None and self._screen is not None:
                versions = Versions(
                    model=self._screen.fingerprint,
                    embedder=self._embedder.model_name,
                    index=f"chroma:{Collection.KNOWLEDGE.value}",
                )
                self._risk_log.append(
                    quarantined_chunk(
                        result,
                        chunk_id,
                        entry.record_id,
                        texts[chunk_id],
                        versions,
                        report.run_id,
                    )
                )

    def _write(
        self,
        entry: _Prepared,
        vectors: Any,
        collection: Collection,
        report: IngestReport,
    ) -> RecordOutcome:
        written = False
        key = _record_key(collection, entry.record_id)
        row_type = type(entry.row)
        try:
            with (
                _WRITE_LOCKS[key % len(_WRITE_LOCKS)],
                self._sessions.begin() as session,
            ):
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(select(func.pg_advisory_xact_lock(key)))
                # Another ingest of this id may have written since the batch
                # read the stored hashes.
                stored = session.scalar(
                    select(row_type.content_hash).where(row_type.id == entry.record_id)
                )
                if stored == entry.content_hash:
                    return RecordOutcome(
                        entry.position,
                        entry.record_id,
                        Outcome.UNCHANGED,
                        unit=entry.unit,
                    )
                entry.replaces = stored is not None
                self._store.upsert(collection, entry.chunks, vectors)
                written = True
                removed = self._store.delete_other_versions(
                    collection, entry.record_id, entry.content_hash
                )
                session.merge(entry.row)
                if self._vault is not None and collection is Collection.INTERACTIONS:
                    self._vault.replace(session, entry.record_id, entry.pseudonyms)
        except Exception:
            logger.exception("storing record %s failed", entry.record_id)
            if written:
                # The row still names the old version; its chunks are gone or
                # kept, and the next ingest of this input replaces them.
                self._store.delete_ids(collection, [chunk.id for chunk in entry.chunks])
            return _rejected(
                entry.position,
                entry.record_id,
                "could not be stored; see the service log",
                entry.unit,
            )
        report.chunks_written += len(entry.chunks)
        report.chunks_removed += removed
        outcome = Outcome.REPLACED if entry.replaces else Outcome.ADDED
        return RecordOutcome(
            entry.position, entry.record_id, outcome, len(entry.chunks), unit=entry.unit
        )

    def _check_limits(self, record: KnowledgeDocument | Interaction) -> str | None:
        if isinstance(record, KnowledgeDocument):
            parts: list[tuple[str, str]] = [
                (f"body.{i}.text", section.text)
                for i, section in enumerate(record.body)
            ]
            label = "sections"
        else:
            parts = [
                (f"turns.{i}.text", turn.text) for i, turn in enumerate(record.turns)
            ]
            label = "turns"
        if len(parts) > self._limits.max_parts:
            return (
                f"{label}: {len(parts)} {label}, the limit is {self._limits.max_parts}"
            )
        for path, text in parts:
            if len(text) > self._limits.max_text_chars:
                return (
                    f"{path}: text is {len(text)} characters, "
                    f"the limit is {self._limits.max_text_chars}"
                )
        return None

    def _prepare_document(
        self, document: KnowledgeDocument, content_hash: str
    ) -> tuple[DocumentRow, list[Chunk]]:
        texts = [document.title, document.summary or ""]
        for section in document.body:
            texts += [section.heading, section.text]
        redacted = self._redactor.redact_many(texts, CONTENT_POLICY, PseudonymMap())
        title = redacted[0].text
        summary = redacted[1].text or None
        sections = [
            SectionText(heading=redacted[2 + 2 * i].text, text=redacted[3 + 2 * i].text)
            for i in range(len(document.body))
        ]
        pii_counts = _sum_counts(r.entity_counts for r in redacted)
        metadata: dict[str, MetadataValue] = {
            "kind": "knowledge",
            "record_id": document.id,
            "document_id": document.id,
            "title": title,
            "source": document.source,
            "audience": document.audience,
            "tags": list(document.tags),
            "content_hash": content_hash,
            "pii_types": sorted(pii_counts),
            "pii_count": sum(pii_counts.values()),
        }
        if document.owner:
            metadata["owner"] = document.owner
        if document.version:
            metadata["version"] = document.version
        if document.reviewed_at:
            metadata["reviewed_at"] = document.reviewed_at.isoformat()
        if summary:
            metadata["summary"] = summary
        chunks = self._chunker.split_document(
            document.id, content_hash, title, summary, sections, metadata
        )
        row = DocumentRow(
            id=document.id,
            title=title,
            summary=summary,
            source=document.source,
            owner=document.owner,
            version=document.version,
            reviewed_at=document.reviewed_at,
            audience=document.audience,
            tags=list(document.tags),
            sections=[{"heading": s.heading, "text": s.text} for s in sections],
            pii_counts=pii_counts,
            content_hash=content_hash,
            chunk_count=len(chunks),
        )
        return row, chunks

    def _prepare_interaction(
        self, interaction: Interaction, content_hash: str
    ) -> tuple[InteractionRow, list[Chunk], list[tuple[int, tuple[Replacement, ...]]]]:
        known = [
            KnownValue(IDENTIFIER_ENTITY[identifier.kind], identifier.value)
            for identifier in interaction.customer_identifiers
        ]
        texts = [turn.text for turn in interaction.turns]
        speakers = [turn.speaker.value for turn in interaction.turns]
        if interaction.outcome:
            texts.append(interaction.outcome)
            speakers.append("system")
        # Read as a conversation: a caller's reply to "what is your postcode?"
        # is the postcode, however it is spoken.
        redacted = self._redactor.redact_many(
            texts, CONVERSATION_POLICY, PseudonymMap(), known, speakers=speakers
        )
        # Parts 0..n-1 are the turns, part n the outcome.
        pseudonyms = [(part, r.replacements) for part, r in enumerate(redacted)]
        outcome = redacted.pop().text if interaction.outcome else None
        turns = [
            TurnText(number=n, speaker=turn.speaker.value, text=r.text)
            for n, (turn, r) in enumerate(
                zip(interaction.turns, redacted, strict=True), start=1
            )
        ]
        pii_counts = _sum_counts(r.entity_counts for r in redacted)
        metadata: dict[str, MetadataValue] = {
            "kind": "interaction",
            "record_id": interaction.id,
            "interaction_id": interaction.id,
            "channel": interaction.channel.value,
            "source_system": interaction.source_system,
            "content_hash": content_hash,
            "pii_types": sorted(pii_counts),
            "pii_count": sum(pii_counts.values()),
        }
        if interaction.intent:
            metadata["intent"] = interaction.intent
        if interaction.started_at:
            metadata["started_at"] = interaction.started_at.isoformat()
        chunks = self._chunker.split_transcript(
            interaction.id, content_hash, turns, metadata
        )
        row = InteractionRow(
            id=interaction.id,
            channel=interaction.channel.value,
            source_system=interaction.source_system,
            started_at=interaction.started_at,
            ended_at=interaction.ended_at,
            identifier_kinds=sorted(
                {i.kind.value for i in interaction.customer_identifiers}
            ),
            turns=[
                {
                    "n": turn.number,
                    "speaker": turn.speaker,
                    "text": turn.text,
                    "timestamp": original.timestamp.isoformat()
                    if original.timestamp
                    else None,
                }
                for turn, original in zip(turns, interaction.turns, strict=True)
            ],
            outcome=outcome,
            intent=interaction.intent,
            satisfaction_score=interaction.satisfaction_score,
            sentiment=interaction.sentiment.value if interaction.sentiment else None,
            transferred_from=interaction.transferred_from,
            pii_counts=pii_counts,
            content_hash=content_hash,
            chunk_count=len(chunks),
        )
        return row, chunks, pseudonyms


def _rejected(
    position: int, record_id: str | None, problem: str, unit: str = "record"
) -> RecordOutcome:
    return RecordOutcome(
        position, record_id, Outcome.REJECTED, problem=problem, unit=unit
    )


def _sum_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return dict(sorted(total.items()))
