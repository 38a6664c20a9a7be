"""Checks on a generated answer, summary or draft before it leaves the service.

Three checks, each turned into findings with a decision:

- every citation `[n]` must name a passage that was provided (else block);
- every sentence must be supported by the passages it cites (or, uncited, by
  any provided passage): by embedding similarity to the passage and its
  sentences, or by the share of its words found there, and every number in it
  must appear there (some unsupported: escalate; none supported: abstain);
- personal data found in the output that is not in the allowed context (the
  passages and whatever the caller allows, such as the redacted question) is
  replaced with placeholders (redact), and a failed PII check blocks.

The overall decision is the most severe one any finding calls for. Reasons
name sentence numbers, citation numbers and entity types, never the text.
"""

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cx_context.guardrails.decisions import OUTPUT_SEVERITY, Decision
from cx_context.guardrails.errors import RedactionError
from cx_context.guardrails.injection import Embed
from cx_context.guardrails.nist import (
    CITATION_ACTIONS,
    GROUNDING_ACTIONS,
    PRIVACY_OUTPUT_ACTIONS,
    RiskCategory,
)
from cx_context.guardrails.pii import CONVERSATION_POLICY, PiiRedactor, RedactionPolicy

logger = logging.getLogger(__name__)

_CITATIONS = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"<[a-z_]+_\d+>|[a-z0-9][a-z0-9'’-]*")
_STOP = frozenset(
    {
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "if",
        "then",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "you",
        "your",
        "they",
        "their",
        "we",
        "our",
        "i",
        "my",
        "me",
        "he",
        "she",
        "his",
        "her",
        "them",
        "do",
        "does",
        "did",
        "not",
        "no",
        "so",
        "can",
        "will",
        "would",
        "should",
        "may",
        "also",
        "just",
        "than",
        "there",
        "here",
        "what",
        "which",
        "who",
        "when",
        "where",
        "how",
        "all",
        "any",
        "each",
    }
)


@dataclass(frozen=True)
class SourcePassage:
    """A passage the output was allowed to draw on, by its citation number."""

    number: int
    text: str
    source_id: str = ""


@dataclass(frozen=True)
class SentenceSupport:
    index: int  # 1-based, in reading order
    citations: tuple[int, ...]
    similarity: float
    overlap: float
    missing_numbers: int
    supported: bool
    text_sha256: str


@dataclass(frozen=True)
class Finding:
    rule: str
    decision: Decision
    category: RiskCategory
    actions: tuple[str, ...]
    reason: str
    score: float | None = None
    threshold: float | None = None
    entity_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputCheck:
    decision: Decision
    text: str  # what may be released: the output, or its redacted form
    findings: tuple[Finding, ...]
    sentences: tuple[SentenceSupport, ...]

    @property
    def reasons(self) -> list[str]:
        return [finding.reason for finding in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "reasons": self.reasons,
            "sentences": [
                {
                    "index": s.index,
                    "citations": list(s.citations),
                    "similarity": round(s.similarity, 4),
                    "overlap": round(s.overlap, 4),
                    "supported": s.supported,
                }
                for s in self.sentences
            ],
        }


@dataclass(frozen=True)
class OutputCheckConfig:
    # A sentence is supported when it is this close to a passage sentence, or
    # when this share of its words is in the passage; and no number is new.
    similarity_threshold: float = 0.7
    overlap_threshold: float = 0.7

    def __post_init__(self) -> None:
        for name in ("similarity_threshold", "overlap_threshold"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")


@dataclass(frozen=True)
class _Claim:
    text: str
    citations: tuple[int, ...]


def claims(text: str) -> list[_Claim]:
    """Sentences with the citation numbers that follow them."""
    found: list[_Claim] = []
    position = 0
    for match in _CITATIONS.finditer(text):
        numbers = tuple(int(n) for n in re.findall(r"\d+", match.group(0)))
        found += [
            _Claim(sentence, numbers)
            for sentence in _split(text[position : match.start()])
        ]
        position = match.end()
    found += [_Claim(sentence, ()) for sentence in _split(text[position:])]
    return found


def _split(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if re.search(r"\w", s)]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOP}


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class OutputChecker:
    """Checks generated text against the passages it was given."""

    def __init__(
        self,
        embed: Embed,
        redactor: PiiRedactor,
        config: OutputCheckConfig | None = None,
        policy: RedactionPolicy = CONVERSATION_POLICY,
    ) -> None:
        self._embed = embed
        self._redactor = redactor
        self.config = config or OutputCheckConfig()
        self._policy = policy

    def check(
        self,
        text: str,
        passages: Sequence[SourcePassage],
        allowed_context: Sequence[str] = (),
    ) -> OutputCheck:
        numbers = {p.number for p in passages}
        if len(numbers) != len(passages):
            raise ValueError(
                "passage numbers must be unique, got "
                f"{sorted(p.number for p in passages)}"
            )
        parsed = claims(text)
        findings = self._citations(parsed, numbers)
        support = self._support(parsed, passages)
        findings += self._grounding(support)
        released, privacy = self._privacy(
            text, [*(p.text for p in passages), *allowed_context]
        )
        findings += privacy
        decision = max(
            (f.decision for f in findings),
            key=OUTPUT_SEVERITY.index,
            default=Decision.ALLOW,
        )
        if decision is not Decision.ALLOW:
            logger.info(
                "output check: %s (%s)", decision.value, [f.rule for f in findings]
            )
        return OutputCheck(decision, released, tuple(findings), tuple(support))

    @staticmethod
    def _citations(parsed: list[_Claim], provided: set[int]) -> list[Finding]:
        findings = []
        for index, claim in enumerate(parsed, start=1):
            unknown = sorted(set(claim.citations) - provided)
            if unknown:
                findings.append(
                    Finding(
                        "unknown_citation",
                        Decision.BLOCK,
                        RiskCategory.CONFABULATION,
                        CITATION_ACTIONS,
                        f"sentence {index} cites {unknown}, but the passages "
                        f"provided are {sorted(provided)}",
                    )
                )
        return findings

    def _support(
        self, parsed: list[_Claim], passages: Sequence[SourcePassage]
    ) -> list[SentenceSupport]:
        if not parsed:
            return []
        by_number = {p.number: p for p in passages}
        pieces = [
            (p.number, piece) for p in passages for piece in [p.text, *_split(p.text)]
        ]
        vectors = self._embed([c.text for c in parsed] + [t for _, t in pieces])
        claim_vectors, piece_vectors = vectors[: len(parsed)], vectors[len(parsed) :]
        similarity = claim_vectors @ piece_vectors.T if pieces else None
        results = []
        for index, claim in enumerate(parsed):
            cited = [n for n in claim.citations if n in by_number] or (
                [] if claim.citations else list(by_number)
            )
            columns = [j for j, (n, _) in enumerate(pieces) if n in cited]
            best = (
                float(np.max(similarity[index, columns]))
                if similarity is not None and columns
                else 0.0
            )
            source = " ".join(by_number[n].text for n in cited)
            words = _words(claim.text)
            overlap = len(words & _words(source)) / len(words) if words else 1.0
            source_numbers = set(_NUMBER.findall(source))
            missing = sum(
                1 for n in _NUMBER.findall(claim.text) if n not in source_numbers
            )
            supported = (
                bool(cited)
                and missing == 0
                and (
                    best >= self.config.similarity_threshold
                    or overlap >= self.config.overlap_threshold
                )
            )
            results.append(
                SentenceSupport(
                    index + 1,
                    claim.citations,
                    best,
                    overlap,
                    missing,
                    supported,
                    _sha(claim.text),
                )
            )
        return results

    def _grounding(self, support: list[SentenceSupport]) -> list[Finding]:
        unsupported = [s for s in support if not s.supported]
        if not unsupported:
            return []
        threshold = self.config.similarity_threshold
        weakest = min(s.similarity for s in unsupported)
        listed = [s.index for s in unsupported]
        if len(unsupported) == len(support):
            return [
                Finding(
                    "no_grounded_sentence",
                    Decision.ABSTAIN,
                    RiskCategory.CONFABULATION,
                    GROUNDING_ACTIONS,
                    f"none of the {len(support)} sentences is supported by the "
                    "passages it cites",
                    weakest,
                    threshold,
                )
            ]
        return [
            Finding(
                "unsupported_sentence",
                Decision.ESCALATE,
                RiskCategory.CONFABULATION,
                GROUNDING_ACTIONS,
                f"sentences {listed} of {len(support)} are not supported by the "
                f"passages they cite (similarity below {threshold}, word overlap "
                f"below {self.config.overlap_threshold}, or a number not in them)",
                weakest,
                threshold,
            )
        ]

    def _privacy(self, text: str, allowed: Sequence[str]) -> tuple[str, list[Finding]]:
        try:
            redaction = self._redactor.redact(text, self._policy)
        except RedactionError:
            return text, [
                Finding(
                    "pii_check_failed",
                    Decision.BLOCK,
                    RiskCategory.DATA_PRIVACY,
                    PRIVACY_OUTPUT_ACTIONS,
                    "the output could not be checked for personal data",
                )
            ]
        context = _squash(" ".join(allowed))
        released = redaction.text
        new: Counter[str] = Counter()
        # Values that the allowed context already holds go back in, from the
        # end so that earlier offsets stay valid.
        for item in reversed(redaction.replacements):
            value = _squash(item.original)
            if value and value in context:
                released = released[: item.start] + item.original + released[item.end :]
            else:
                new[item.entity_type] += 1
        if not new:
            return text, []
        counts = dict(sorted(new.items()))
        return released, [
            Finding(
                "pii_not_in_context",
                Decision.REDACT,
                RiskCategory.DATA_PRIVACY,
                PRIVACY_OUTPUT_ACTIONS,
                f"personal data not in the allowed context was redacted: {counts}",
                entity_counts=counts,
            )
        ]
