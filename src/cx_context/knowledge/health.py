"""Content health: stale, duplicate, conflicting, unused and quarantined content.

Also coverage by intent: for each intent seen in conversations, the share of
those conversations whose customer opening our content answers.
"""

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.guardrails.risklog import RiskFilter, RiskLog
from cx_context.knowledge.database import DocumentRow, InteractionRow, RetrievalRow
from cx_context.knowledge.embedding import Embedder
from cx_context.knowledge.quantities import Quantity, mask_quantities, quantities
from cx_context.knowledge.retrieval import Retriever
from cx_context.knowledge.vectorstore import Hit, VectorStore

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


@dataclass(frozen=True)
class HealthConfig:
    """Where content health draws its lines.

    Near-duplicates are passages of different articles this similar or more;
    a conflict is a pair of sentences of different articles that read the
    same once their numbers are masked (`conflict_similarity`) but state a
    different value of the same kind and unit.
    """

    stale_after: timedelta = timedelta(days=365)
    duplicate_similarity: float = 0.95
    conflict_similarity: float = 0.85
    answer_threshold: float = 0.45
    max_items: int = 100
    max_coverage_interactions: int = 2000

    def __post_init__(self) -> None:
        if self.stale_after <= timedelta(0):
            raise ValueError(f"stale_after must be > 0, got {self.stale_after}")
        for name in ("duplicate_similarity", "conflict_similarity"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")


@dataclass(frozen=True)
class HealthReport:
    since: datetime | None
    until: datetime | None
    generated_at: datetime
    n_documents: int
    n_passages: int
    stale: list[dict[str, Any]] = field(default_factory=list)
    never_reviewed: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    unused: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    retrievals: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "n_documents": self.n_documents,
            "n_passages": self.n_passages,
            "stale": self.stale,
            "never_reviewed": self.never_reviewed,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "unused": self.unused,
            "quarantined": self.quarantined,
            "coverage": self.coverage,
            "retrievals": self.retrievals,
            "settings": self.settings,
        }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _passage(hit: Hit, titles: dict[str, str]) -> dict[str, Any]:
    document = str(hit.metadata.get("document_id", ""))
    body = hit.text.split("\n", 1)[1] if "\n" in hit.text else hit.text
    return {
        "chunk_id": hit.chunk_id,
        "document_id": document,
        "title": titles.get(document, document),
        "section": str(hit.metadata.get("section", "")),
        "text": body,
    }


class ContentHealth:
    """Reads the knowledge store, the retrieval log and the risk log."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: VectorStore,
        embedder: Embedder,
        retriever: Retriever,
        risk_log: RiskLog | None = None,
        config: HealthConfig | None = None,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._embedder = embedder
        self._retriever = retriever
        self._risk_log = risk_log
        self.config = config or HealthConfig()

    def report(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        now: datetime | None = None,
        progress: Callable[[str], None] | None = None,
        config: HealthConfig | None = None,
    ) -> HealthReport:
        """The health of the content; `config` overrides the report's for this call."""
        if since is not None and until is not None and since >= until:
            raise ValueError(
                f"since must be before until, got {since.isoformat()} "
                f"and {until.isoformat()}"
            )
        now = now or datetime.now(UTC)
        config = config or self.config
        with self._sessions() as session:
            documents = list(session.scalars(select(DocumentRow)))
            counts = self._retrieval_counts(session, since, until)
        titles = {d.id: d.title for d in documents}
        if progress:
            progress("reading passages")
        hits, vectors = self._store.sections_with_vectors()

        stale: list[dict[str, Any]] = []
        never: list[dict[str, Any]] = []
        cutoff = now - config.stale_after
        for doc in documents:
            entry: dict[str, Any] = {
                "document_id": doc.id,
                "title": doc.title,
                "owner": doc.owner,
                "retrievals": counts.get(doc.id, 0),
            }
            if doc.reviewed_at is None:
                never.append(entry)
            elif _aware(doc.reviewed_at) < cutoff:
                reviewed = _aware(doc.reviewed_at)
                entry["reviewed_at"] = reviewed.isoformat()
                entry["age_days"] = (now - reviewed).days
                stale.append(entry)
        stale.sort(key=lambda e: (-e["retrievals"], -e["age_days"], e["document_id"]))
        never.sort(key=lambda e: (-e["retrievals"], e["document_id"]))
        unused = [
            {
                "document_id": doc.id,
                "title": doc.title,
                "owner": doc.owner,
                "ingested_at": _aware(doc.ingested_at).isoformat(),
            }
            for doc in sorted(documents, key=lambda d: d.id)
            if counts.get(doc.id, 0) == 0
        ]
        retrievals = [
            {"document_id": doc, "title": titles.get(doc, doc), "retrievals": n}
            for doc, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]
        if progress:
            progress("comparing passages")
        duplicates = self._duplicates(hits, vectors, titles, config)
        conflicts = self._conflicts(hits, titles, config)
        if progress:
            progress("coverage by intent")
        coverage = self._coverage(since, until, config)
        limit = config.max_items
        return HealthReport(
            since=since,
            until=until,
            generated_at=now,
            n_documents=len(documents),
            n_passages=len(hits),
            stale=stale[:limit],
            never_reviewed=never[:limit],
            duplicates=duplicates[:limit],
            conflicts=conflicts[:limit],
            unused=unused[:limit],
            quarantined=self._quarantined(hits, titles)[:limit],
            coverage=coverage,
            retrievals=retrievals[:limit],
            settings={
                "stale_after_days": config.stale_after.days,
                "duplicate_similarity": config.duplicate_similarity,
                "conflict_similarity": config.conflict_similarity,
                "answer_threshold": config.answer_threshold,
            },
        )

    @staticmethod
    def _retrieval_counts(
        session: Session, since: datetime | None, until: datetime | None
    ) -> dict[str, int]:
        """Questions that retrieved each article in the period."""
        query = select(
            RetrievalRow.document_id,
            func.count(func.distinct(RetrievalRow.question_id)),
        ).group_by(RetrievalRow.document_id)
        if since is not None:
            query = query.where(RetrievalRow.asked_at >= since)
        if until is not None:
            query = query.where(RetrievalRow.asked_at < until)
        return {doc: int(n) for doc, n in session.execute(query).all()}

    def _duplicates(
        self,
        hits: Sequence[Hit],
        vectors: Any,
        titles: dict[str, str],
        config: HealthConfig,
    ) -> list[dict[str, Any]]:
        if len(hits) < 2:
            return []
        threshold = config.duplicate_similarity
        docs = np.array([str(h.metadata.get("document_id", "")) for h in hits])
        pairs: list[tuple[float, int, int]] = []
        block = 1024
        for start in range(0, len(hits), block):
            similarity = vectors[start : start + block] @ vectors.T
            rows, cols = np.nonzero(similarity >= threshold)
            for row, col in zip(rows, cols, strict=True):
                i = start + int(row)
                j = int(col)
                if i < j and docs[i] != docs[j]:
                    pairs.append((float(similarity[row, col]), i, j))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        return [
            {
                "similarity": round(score, 4),
                "a": _passage(hits[i], titles),
                "b": _passage(hits[j], titles),
            }
            for score, i, j in pairs
        ]

    def _conflicts(
        self, hits: Sequence[Hit], titles: dict[str, str], config: HealthConfig
    ) -> list[dict[str, Any]]:
        """Sentences that say the same thing of different values.

        Only sentences holding a number, date, duration or amount take part;
        they are compared with their values masked, so "refunds within 30
        days" and "refunds within 14 days" read alike.
        """
        stated: list[tuple[int, str, list[Quantity]]] = []
        for index, hit in enumerate(hits):
            if hit.metadata.get("quarantined") is True:
                continue
            body = hit.text.split("\n", 1)[1] if "\n" in hit.text else hit.text
            for sentence in _sentences(body):
                found = quantities(sentence)
                if found:
                    stated.append((index, sentence, found))
        if len(stated) < 2:
            return []
        masked = self._embedder.embed([mask_quantities(s) for _, s, _ in stated])
        docs = [str(hits[i].metadata.get("document_id", "")) for i, _, _ in stated]
        similarity = masked @ masked.T
        alike = similarity >= config.conflict_similarity
        rows, cols = np.nonzero(alike)
        conflicts: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()

        def also_says(document: str, other: int) -> bool:
            """Whether `document` states sentence `other` too, value and all."""
            return any(
                docs[mine] == document and _agreement(stated[mine][2], stated[other][2])
                for mine in np.nonzero(alike[other])[0]
            )

        for row, col in zip(rows, cols, strict=True):
            a, b = int(row), int(col)
            if a >= b or docs[a] == docs[b]:
                continue
            differ = _disagreement(stated[a][2], stated[b][2])
            if differ is None:
                continue
            # An article that says the other's sentence as well, with its
            # value, lists both cases (one per membership tier, say): the two
            # values stand side by side in it, so they do not contradict.
            if also_says(docs[a], b) or also_says(docs[b], a):
                continue
            pair = (hits[stated[a][0]].chunk_id, hits[stated[b][0]].chunk_id)
            if pair in seen:
                continue
            seen.add(pair)
            first, second = differ
            conflicts.append(
                {
                    "kind": first.kind,
                    "similarity": round(float(similarity[a, b]), 4),
                    "a": {
                        **_passage(hits[stated[a][0]], titles),
                        "sentence": stated[a][1],
                        "value": first.text,
                    },
                    "b": {
                        **_passage(hits[stated[b][0]], titles),
                        "sentence": stated[b][1],
                        "value": second.text,
                    },
                }
            )
        conflicts.sort(key=lambda c: (-c["similarity"], c["a"]["chunk_id"]))
        return _grouped(conflicts)

    def _quarantined(
        self, hits: Sequence[Hit], titles: dict[str, str]
    ) -> list[dict[str, Any]]:
        reasons: dict[str, str] = {}
        if self._risk_log is not None:
            for event in self._risk_log.list(
                RiskFilter(decision="quarantine"), limit=1000
            ):
                evidence = event.get("evidence") or {}
                detectors = ", ".join(evidence.get("detectors") or ()) or str(
                    event.get("detector")
                )
                score, threshold = event.get("score"), event.get("threshold")
                why = f"injection screen: {detectors}"
                if score is not None and threshold is not None:
                    why += f" (score {score:.2f}, threshold {threshold:.2f})"
                for chunk_id in evidence.get("ids") or ():
                    reasons.setdefault(str(chunk_id), why)
        return [
            {
                **_passage(hit, titles),
                "reason": reasons.get(hit.chunk_id, "flagged by the injection screen"),
            }
            for hit in hits
            if hit.metadata.get("quarantined") is True
        ]

    def _coverage(
        self, since: datetime | None, until: datetime | None, config: HealthConfig
    ) -> list[dict[str, Any]]:
        """Per intent of the period's conversations: the share content answers.

        A conversation counts as answered from content when the best passage
        for its customer's opening turns scores at least the answer threshold.
        """
        moment = func.coalesce(InteractionRow.started_at, InteractionRow.ingested_at)
        query = (
            select(InteractionRow.intent, InteractionRow.turns, moment)
            .where(InteractionRow.intent.is_not(None))
            .order_by(moment.desc())
            .limit(config.max_coverage_interactions)
        )
        if since is not None:
            query = query.where(moment >= since)
        if until is not None:
            query = query.where(moment < until)
        with self._sessions() as session:
            rows = session.execute(query).all()
        if not rows:
            return []
        openings = [_opening(turns) for _, turns, _ in rows]
        vectors = self._embedder.embed(openings)
        by_intent: dict[str, dict[str, Any]] = {}
        span = max(_aware(r[2]) for r in rows) - min(_aware(r[2]) for r in rows)
        weekly = span > timedelta(days=60)
        for (intent, _, when), vector in zip(rows, vectors, strict=True):
            passages = self._retriever.search_vector(vector, 1)
            best = passages[0].score if passages else 0.0
            answered = best >= config.answer_threshold
            day = _aware(when).date()
            if weekly:
                day -= timedelta(days=day.weekday())
            entry = by_intent.setdefault(
                str(intent), {"intent": str(intent), "n": 0, "answered": 0, "by": {}}
            )
            entry["n"] += 1
            entry["answered"] += int(answered)
            bucket = entry["by"].setdefault(day.isoformat(), [0, 0])
            bucket[0] += 1
            bucket[1] += int(answered)
        coverage = []
        for entry in by_intent.values():
            trend = [
                {"start": start, "n": n, "answered": answered, "share": answered / n}
                for start, (n, answered) in sorted(entry["by"].items())
            ]
            coverage.append(
                {
                    "intent": entry["intent"],
                    "interactions": entry["n"],
                    "answered": entry["answered"],
                    "share": round(entry["answered"] / entry["n"], 4),
                    "bucket": "week" if weekly else "day",
                    "trend": trend,
                }
            )
        coverage.sort(key=lambda c: (-c["interactions"], c["intent"]))
        return coverage


def _opening(turns: Sequence[dict[str, Any]], most: int = 2) -> str:
    said = [t["text"] for t in turns if t.get("speaker") == "customer"][:most]
    return " ".join(said) or (turns[0]["text"] if turns else "")


def _sentences(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        for piece in _SENTENCE_END.split(raw.strip(" -*•\t")):
            if piece.strip():
                out.append(piece.strip())
    return out


def _grouped(conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per sentence and pair of values, with every article behind it.

    A sentence that several articles state with one value and several others
    with another ("Read through the list of 8 options" in four FAQs, "of 4
    options" in four others) is one disagreement, not sixteen: the first
    pair stands for it, with how many pairs it stands for (`pairs`) and the
    articles that state each value (`documents`).
    """
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for conflict in conflicts:
        a, b = conflict["a"], conflict["b"]
        sides = sorted(
            [
                (mask_quantities(a["sentence"]).casefold(), a["value"]),
                (mask_quantities(b["sentence"]).casefold(), b["value"]),
            ]
        )
        key = (conflict["kind"], *sides[0], *sides[1])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {**conflict, "pairs": 0, "documents": {}}
        group["pairs"] += 1
        for side in (a, b):
            documents = group["documents"].setdefault(side["value"], [])
            if side["document_id"] not in documents:
                documents.append(side["document_id"])
    return list(groups.values())


def _agreement(first: Sequence[Quantity], second: Sequence[Quantity]) -> bool:
    """Whether the two say the same value of some kind and unit."""
    return any(
        a.kind == b.kind and a.unit == b.unit and a.value == b.value
        for a in first
        for b in second
    )


def _disagreement(
    first: Sequence[Quantity], second: Sequence[Quantity]
) -> tuple[Quantity, Quantity] | None:
    """The first pair of the same kind and unit whose values differ, if any."""
    for a in first:
        for b in second:
            if a.kind == b.kind and a.unit == b.unit and a.value != b.value:
                # The same value said twice somewhere else is agreement.
                if any(b2.value == a.value for b2 in second if b2.kind == a.kind):
                    continue
                return a, b
    return None
