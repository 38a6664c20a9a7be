"""Redaction throughput for batch ingestion beside a plain Presidio loop.

Both systems redact exactly the same texts (every turn of the ABCD dialogues)
in one run on one machine, models loaded and warmed up first. Ours redacts
each dialogue as ingestion does: all its turns in one `redact_many` call (one
spaCy `nlp.pipe` batch, one pseudonym scope, the scope-wide second pass). The
baseline analyses and anonymises one text at a time with Presidio's default
recognizers on the same spaCy model. The best of a few alternating runs is
kept for each.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from presidio_analyzer import AnalyzerEngine
from presidio_anonymizer import AnonymizerEngine

from cx_context.eval.pii import plain_presidio_analyzer
from cx_context.eval.pii_data import load_abcd
from cx_context.guardrails.pii import CONVERSATION_POLICY, PiiRedactor
from cx_context.guardrails.pseudonyms import PseudonymMap

logger = logging.getLogger(__name__)

DEFAULT_DIALOGUES = [Path("samples/abcd/dialogues.json")]


def _plain_presidio() -> tuple[AnalyzerEngine, AnonymizerEngine]:
    return plain_presidio_analyzer(), AnonymizerEngine()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class RedactionBenchmark:
    dialogues: Sequence[Path]
    repeats: int = 5

    def run(self, redactor: PiiRedactor) -> dict[str, Any]:
        started = time.perf_counter()
        scopes = [
            [item.text for item in scope.texts]
            for path in self.dialogues
            for scope in load_abcd(path)
        ]
        n = sum(len(texts) for texts in scopes)
        analyzer, anonymizer = _plain_presidio()

        def ours() -> None:
            for texts in scopes:
                redactor.redact_many(texts, CONVERSATION_POLICY, PseudonymMap())

        def plain() -> None:
            for texts in scopes:
                for text in texts:
                    results = analyzer.analyze(text, language="en")
                    anonymizer.anonymize(text=text, analyzer_results=results)  # type: ignore[arg-type]

        ours_s, plain_s = self._best(ours, plain)
        ours_rate = n / ours_s if ours_s else 0.0
        plain_rate = n / plain_s if plain_s else 0.0
        return {
            "eval": "bench-redaction",
            "dataset": "+".join(p.stem for p in self.dialogues),
            "data": [str(p) for p in self.dialogues],
            "n": n,
            "systems": {
                "cx-context": {
                    "texts_per_s": round(ours_rate, 1),
                    "seconds": round(ours_s, 3),
                    "ratio_to_baseline": round(ours_rate / plain_rate, 3)
                    if plain_rate
                    else None,
                },
                "presidio-default-loop": {
                    "texts_per_s": round(plain_rate, 1),
                    "seconds": round(plain_s, 3),
                    "ratio_to_baseline": 1.0,
                },
            },
            "settings": {
                "unit": "one dialogue turn",
                "scopes": len(scopes),
                "batch_size": redactor.config.batch_size,
                "repeats": self.repeats,
                "kept": "best of alternating repeats, after one warm-up pass each",
                "policy": CONVERSATION_POLICY.name,
            },
            "runtime_s": round(time.perf_counter() - started, 1),
        }

    def _best(
        self, ours: Callable[[], None], plain: Callable[[], None]
    ) -> tuple[float, float]:
        # Runs alternate, so a neighbour's load on a shared machine falls on
        # both systems alike; one untimed warm-up pass each goes first.
        ours()
        plain()
        timings: tuple[list[float], list[float]] = ([], [])
        for _ in range(self.repeats):
            for work, kept in ((ours, timings[0]), (plain, timings[1])):
                t0 = time.perf_counter()
                work()
                kept.append(time.perf_counter() - t0)
        return min(timings[0]), min(timings[1])
