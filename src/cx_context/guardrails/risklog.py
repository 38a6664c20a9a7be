"""The risk log: an append-only, hash-chained table of risk events.

Each row carries the hash of the row before it and a hash of its own
content, so `verify()` can walk the chain and name the first row that was
edited, inserted out of turn, or that follows a deleted one. A chain can
only prove what it holds: removing rows from its end leaves a shorter valid
chain, which is why `verify()` reports the head hash, to be kept elsewhere and
passed back as `expected_head`. Anyone who can write to the database and
recompute every later hash can also forge a consistent chain; the head hash
kept elsewhere is what catches that too.
"""

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.nist import RiskCategory
from cx_context.guardrails.riskrecords import (
    GENESIS,
    RiskEvent,
    RiskRow,
    row_dict,
    row_digest,
    utc,
)

logger = logging.getLogger(__name__)

_APPEND_ATTEMPTS = 5


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: str | None
    kind: str  # "edited", "inserted", "deleted", "truncated"
    message: str


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    head_hash: str
    problem: ChainProblem | None = None

    def to_dict(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head_hash": self.head_hash,
            "problem": None
            if problem is None
            else {
                "seq": problem.seq,
                "event_id": problem.event_id,
                "kind": problem.kind,
                "message": problem.message,
            },
        }


@dataclass(frozen=True)
class RiskFilter:
    category: RiskCategory | str | None = None
    decision: Decision | str | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        # Unknown names are errors that list the allowed ones.
        for name, kind in (("category", RiskCategory), ("decision", Decision)):
            value = getattr(self, name)
            if value is not None and value not in {m.value for m in kind}:
                allowed = ", ".join(m.value for m in kind)
                raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
        if self.since and self.until and utc(self.until) < utc(self.since):
            raise ValueError(
                f"until ({self.until.isoformat()}) is before since "
                f"({self.since.isoformat()})"
            )

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.category is not None:
            query = query.where(RiskRow.category == str(self.category))
        if self.decision is not None:
            query = query.where(RiskRow.decision == str(self.decision))
        if self.since is not None:
            query = query.where(RiskRow.occurred_at >= _stored(self.since))
        if self.until is not None:
            query = query.where(RiskRow.occurred_at <= _stored(self.until))
        if self.request_id is not None:
            query = query.where(RiskRow.request_id == self.request_id)
        return query


def _stored(moment: datetime) -> datetime:
    return utc(moment)


class RiskLog:
    """Appends risk events, lists and exports them, and verifies the chain."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()

    def append(self, event: RiskEvent) -> dict[str, Any]:
        """Write one event at the end of the chain; returns the stored row."""
        with self._lock:
            for attempt in range(1, _APPEND_ATTEMPTS + 1):
                try:
                    with self._sessions.begin() as session:
                        row = self._next_row(session, event)
                        session.add(row)
                        session.flush()
                        stored = row_dict(row)
                except IntegrityError:
                    # Another process appended after the same row; link to
                    # the new end and try again.
                    logger.info("risk log append raced (attempt %d)", attempt)
                    continue
                logger.info(
                    "risk event %s: %s %s",
                    stored["seq"],
                    event.category.value,
                    event.decision.value,
                )
                return stored
        raise RuntimeError(
            f"risk log: could not append after {_APPEND_ATTEMPTS} attempts, "
            "other writers kept appending first"
        )

    @staticmethod
    def _next_row(session: Session, event: RiskEvent) -> RiskRow:
        last = session.execute(
            select(RiskRow.seq, RiskRow.row_hash).order_by(RiskRow.seq.desc()).limit(1)
        ).first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        row = RiskRow(
            seq=seq,
            event_id=uuid.uuid4().hex,
            occurred_at=datetime.now(UTC),
            request_id=event.request_id,
            actor_role=event.actor.role,
            actor_purpose=event.actor.purpose,
            category=event.category.value,
            actions=list(event.actions),
            detector=event.detector,
            score=None if event.score is None else round(float(event.score), 6),
            threshold=None
            if event.threshold is None
            else round(float(event.threshold), 6),
            decision=event.decision.value,
            evidence=event.evidence.to_dict(),
            versions=event.versions.to_dict(),
            prev_hash=prev_hash,
        )
        row.row_hash = row_digest(row)
        return row

    def list(
        self, filters: RiskFilter | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Rows that match, newest first."""
        if limit <= 0:
            raise ValueError(f"limit must be > 0, got {limit}")
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        query = (filters or RiskFilter()).apply(select(RiskRow))
        query = query.order_by(RiskRow.seq.desc()).limit(limit).offset(offset)
        with self._sessions() as session:
            return [row_dict(row) for row in session.scalars(query)]

    def rows(self, filters: RiskFilter | None = None) -> Iterator[dict[str, Any]]:
        """Every matching row in chain order, read in pages."""
        query = (filters or RiskFilter()).apply(select(RiskRow))
        after = 0
        while True:
            with self._sessions() as session:
                page = list(
                    session.scalars(
                        query.where(RiskRow.seq > after)
                        .order_by(RiskRow.seq)
                        .limit(500)
                    )
                )
            if not page:
                return
            for row in page:
                yield row_dict(row)
            after = page[-1].seq

    def export(self, out: IO[str], filters: RiskFilter | None = None) -> int:
        """Write rows as JSON lines, in chain order, hashes included."""
        count = 0
        for row in self.rows(filters):
            out.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
        return count

    def verify(self, expected_head: str | None = None) -> ChainReport:
        """Walk the chain from the first row; name the first row that breaks it."""
        expected_prev, expected_seq, count = GENESIS, 1, 0
        after = 0
        while True:
            with self._sessions() as session:
                page = list(
                    session.scalars(
                        select(RiskRow)
                        .where(RiskRow.seq > after)
                        .order_by(RiskRow.seq)
                        .limit(500)
                    )
                )
            if not page:
                break
            for row in page:
                problem = _check_row(row, expected_seq, expected_prev)
                if problem is not None:
                    logger.warning(
                        "risk log chain broken at row %d (%s)", row.seq, problem.kind
                    )
                    return ChainReport(False, count, expected_prev, problem)
                expected_prev, expected_seq = row.row_hash, row.seq + 1
                count += 1
            after = page[-1].seq
        if expected_head is not None and expected_head != expected_prev:
            problem = ChainProblem(
                expected_seq - 1,
                None,
                "truncated",
                f"the chain is intact up to row {expected_seq - 1}, but its head "
                f"hash {expected_prev[:16]}… is not the expected "
                f"{expected_head[:16]}…: rows were removed from its end",
            )
            return ChainReport(False, count, expected_prev, problem)
        return ChainReport(True, count, expected_prev)


def _check_row(
    row: RiskRow, expected_seq: int, expected_prev: str
) -> ChainProblem | None:
    if row_digest(row) != row.row_hash:
        return ChainProblem(
            row.seq,
            row.event_id,
            "edited",
            f"row {row.seq} (event {row.event_id}) was edited: its content no "
            "longer matches its hash",
        )
    if row.seq != expected_seq:
        missing = (
            f"row {expected_seq}"
            if row.seq == expected_seq + 1
            else f"rows {expected_seq} to {row.seq - 1}"
        )
        return ChainProblem(
            row.seq,
            row.event_id,
            "deleted",
            f"{missing} before row {row.seq} (event {row.event_id}) were deleted"
            if "rows" in missing
            else f"{missing} before row {row.seq} (event {row.event_id}) was deleted",
        )
    if row.prev_hash != expected_prev:
        return ChainProblem(
            row.seq,
            row.event_id,
            "inserted",
            f"row {row.seq} (event {row.event_id}) does not link to the row "
            "before it: it was inserted, or the rows before it were replaced",
        )
    return None
