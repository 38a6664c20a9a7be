"""Checks that the vector store and the database agree, and repairs what it can.

A record's row is written after its chunks (see `Ingestor._write`), so a
process killed in the middle of an ingest can leave chunks whose record has
no row yet, or chunks of a version the row no longer names. Both are removed
by a repair; the next ingest of the same input writes them again with their
row. A row whose chunks are missing cannot be rebuilt here (the vectors are
gone); a repair forgets its content hash, so that the next ingest of its
source stores it again instead of reporting it unchanged.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import DocumentRow, InteractionRow
from cx_context.knowledge.vectorstore import Collection, VectorStore

logger = logging.getLogger(__name__)

_ROWS: dict[Collection, type[DocumentRow] | type[InteractionRow]] = {
    Collection.KNOWLEDGE: DocumentRow,
    Collection.INTERACTIONS: InteractionRow,
}
# Shown in reports; a repair never prints more ids than this per finding.
SHOWN_IDS = 10


@dataclass
class CollectionCheck:
    """What one collection's rows and chunks look like side by side."""

    collection: Collection
    records: int = 0
    chunks: int = 0
    orphan_chunks: list[str] = field(default_factory=list)
    stale_chunks: list[str] = field(default_factory=list)
    incomplete_records: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (self.orphan_chunks or self.stale_chunks or self.incomplete_records)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "chunks": self.chunks,
            "orphan_chunks": len(self.orphan_chunks),
            "stale_chunks": len(self.stale_chunks),
            "incomplete_records": len(self.incomplete_records),
            "examples": {
                "orphan_chunks": self.orphan_chunks[:SHOWN_IDS],
                "stale_chunks": self.stale_chunks[:SHOWN_IDS],
                "incomplete_records": self.incomplete_records[:SHOWN_IDS],
            },
            "consistent": self.consistent,
        }


@dataclass
class DoctorReport:
    checks: list[CollectionCheck]
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return all(check.consistent for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "collections": {c.collection.value: c.to_dict() for c in self.checks},
            "repaired": self.repaired,
        }


class StoreDoctor:
    """Compares every record row with the chunks the vector store holds for it."""

    def __init__(self, sessions: sessionmaker[Session], store: VectorStore) -> None:
        self._sessions = sessions
        self._store = store

    def check(self) -> DoctorReport:
        return DoctorReport([self._check(collection) for collection in Collection])

    def repair(self) -> DoctorReport:
        """Remove orphan and stale chunks, forget hashes of incomplete records.

        Returns the report of a fresh check after the repair, with counts of
        what was done.
        """
        done = {"chunks_deleted": 0, "records_to_reingest": 0}
        for check in self.check().checks:
            doomed = check.orphan_chunks + check.stale_chunks
            self._store.delete_ids(check.collection, doomed)
            done["chunks_deleted"] += len(doomed)
            if check.incomplete_records:
                row = _ROWS[check.collection]
                with self._sessions.begin() as session:
                    session.execute(
                        update(row)
                        .where(row.id.in_(check.incomplete_records))
                        .values(content_hash="")
                    )
                done["records_to_reingest"] += len(check.incomplete_records)
            logger.info(
                "doctor repaired %s: %d chunks deleted, %d records to re-ingest",
                check.collection.value,
                len(doomed),
                len(check.incomplete_records),
            )
        report = self.check()
        # Forgotten hashes leave those records incomplete until re-ingested;
        # they are reported, not hidden.
        report.repaired = done
        return report

    def _check(self, collection: Collection) -> CollectionCheck:
        row = _ROWS[collection]
        with self._sessions() as session:
            rows = {
                record_id: (content_hash, chunk_count)
                for record_id, content_hash, chunk_count in session.execute(
                    select(row.id, row.content_hash, row.chunk_count)
                )
            }
        check = CollectionCheck(collection, records=len(rows))
        current: dict[str, int] = defaultdict(int)
        for hit in self._store.all(collection):
            check.chunks += 1
            record_id = str(hit.metadata.get("record_id", ""))
            if record_id not in rows:
                check.orphan_chunks.append(hit.chunk_id)
            elif not rows[record_id][0]:
                # A repair forgot this record's hash: it is to be ingested
                # again, which replaces what is left of it. Counted as
                # incomplete below, not as stale.
                continue
            elif hit.metadata.get("content_hash") != rows[record_id][0]:
                check.stale_chunks.append(hit.chunk_id)
            else:
                current[record_id] += 1
        check.incomplete_records = sorted(
            record_id
            for record_id, (content_hash, expected) in rows.items()
            if current.get(record_id, 0) != expected or not content_hash
        )
        return check
