"""What a risk-log row holds, and the table it is kept in.

A row says who asked for what (actor role and purpose, request id), which
NIST AI 600-1 risk it concerns and which suggested actions the control that
wrote it serves, what the detector measured against which threshold, what
was decided, and references to the evidence. Evidence is ids, content hashes,
entity types and counts only: its fields are checked so that no text or
personal value can be put in them.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.nist import RiskCategory, check_actions

GENESIS = "0" * 64

_ID = re.compile(r"^\S{1,300}$")  # an identifier: no whitespace, so no prose
_HASH = re.compile(r"^[0-9a-f]{64}$")
_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LABEL = re.compile(r"^[\w.:/@+-]{1,100}$")


class RiskBase(DeclarativeBase):
    """The risk log's own metadata; the guardrails share no tables."""


class RiskRow(RiskBase):
    __tablename__ = "risk_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    request_id: Mapped[str | None] = mapped_column(String(100), index=True)
    actor_role: Mapped[str] = mapped_column(String(100))
    actor_purpose: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(60), index=True)
    actions: Mapped[list[Any]] = mapped_column(JSON)
    detector: Mapped[str] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(20), index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The hash chain: a unique previous hash also stops two writers from
    # both appending after the same row.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)


def _check(pattern: re.Pattern[str], value: object, where: str, rule: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        # The value itself is not repeated: it may be the text that must not
        # be logged.
        size = len(value) if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{where} must be {rule}, got a value of {size} characters")


def _check_counts(
    counts: Mapping[str, int], pattern: re.Pattern[str], where: str, rule: str
) -> None:
    for key, count in counts.items():
        _check(pattern, key, f"{where} key", rule)
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"{where}[{key}] must be a count >= 0, got {count!r}")


@dataclass(frozen=True)
class Evidence:
    """References to what a decision was based on; never the text itself."""

    ids: tuple[str, ...] = ()
    content_hashes: tuple[str, ...] = ()
    entity_counts: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    detectors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for i, value in enumerate(self.ids):
            _check(_ID, value, f"evidence.ids[{i}]", "an id without spaces")
        for i, value in enumerate(self.content_hashes):
            _check(_HASH, value, f"evidence.content_hashes[{i}]", "a SHA-256 hex")
        for i, value in enumerate(self.detectors):
            _check(_KEY, value, f"evidence.detectors[{i}]", "a detector name")
        _check_counts(
            self.entity_counts, _TYPE, "evidence.entity_counts", "an entity type"
        )
        _check_counts(self.counts, _KEY, "evidence.counts", "a lower-case name")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ids": list(self.ids),
            "content_hashes": list(self.content_hashes),
            "entity_counts": dict(sorted(self.entity_counts.items())),
            "counts": dict(sorted(self.counts.items())),
            "detectors": list(self.detectors),
        }


def text_hash(text: str) -> str:
    """The reference to a text that the risk log keeps instead of the text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    role: str
    purpose: str

    def __post_init__(self) -> None:
        _check(_LABEL, self.role, "actor.role", "a role name without spaces")
        _check(_LABEL, self.purpose, "actor.purpose", "a purpose without spaces")


@dataclass(frozen=True)
class Versions:
    """The versions of what took part: model, embedder, index, prompt template."""

    model: str | None = None
    embedder: str | None = None
    index: str | None = None
    prompt_template: str | None = None

    def __post_init__(self) -> None:
        for name, value in self.to_dict().items():
            if value is not None:
                _check(_LABEL, value, f"versions.{name}", "a version label")

    def to_dict(self) -> dict[str, str | None]:
        return {
            "model": self.model,
            "embedder": self.embedder,
            "index": self.index,
            "prompt_template": self.prompt_template,
        }


@dataclass(frozen=True)
class RiskEvent:
    """A risk event to append to the log."""

    category: RiskCategory
    actions: tuple[str, ...]
    detector: str
    decision: Decision
    actor: Actor
    evidence: Evidence = field(default_factory=Evidence)
    versions: Versions = field(default_factory=Versions)
    score: float | None = None
    threshold: float | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        RiskCategory(self.category)
        Decision(self.decision)
        if not self.actions:
            raise ValueError("actions must name at least one NIST AI 600-1 action id")
        check_actions(self.actions)
        _check(_KEY, self.detector, "detector", "a lower-case detector name")
        if self.request_id is not None:
            _check(_ID, self.request_id, "request_id", "an id without spaces")


def utc(moment: datetime) -> datetime:
    """A time in UTC; SQLite gives back naive datetimes, which are UTC here."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def row_payload(row: RiskRow) -> dict[str, Any]:
    """Every field of a row except its own hash, in the form that is hashed."""
    return {
        "seq": row.seq,
        "event_id": row.event_id,
        "occurred_at": utc(row.occurred_at).isoformat(timespec="microseconds"),
        "request_id": row.request_id,
        "actor": {"role": row.actor_role, "purpose": row.actor_purpose},
        "category": row.category,
        "actions": list(row.actions),
        "detector": row.detector,
        "score": row.score,
        "threshold": row.threshold,
        "decision": row.decision,
        "evidence": row.evidence,
        "versions": row.versions,
        "prev_hash": row.prev_hash,
    }


def row_digest(row: RiskRow) -> str:
    canonical = json.dumps(
        row_payload(row), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def row_dict(row: RiskRow) -> dict[str, Any]:
    return {**row_payload(row), "row_hash": row.row_hash}
