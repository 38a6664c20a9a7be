"""The ingest benchmark reports our throughput beside embedding alone, from one run."""

import json
from pathlib import Path

from conftest import DIALOGUES, GUIDELINES
from cx_context.eval.bench_ingest import IngestBenchmark


def test_the_benchmark_reports_both_systems_on_the_same_chunks(
    tmp_path: Path, redactor, embedder
) -> None:  # type: ignore[no-untyped-def]
    manual = json.loads(GUIDELINES.read_text())
    knowledge = tmp_path / "guidelines.json"
    knowledge.write_text(json.dumps({flow: manual[flow] for flow in list(manual)[:2]}))
    dialogues = tmp_path / "dialogues.json"
    dialogues.write_text(json.dumps(json.loads(DIALOGUES.read_text())[:1]))

    result = IngestBenchmark([knowledge], [dialogues], repeats=1).run()

    assert result["eval"] == "ingest"
    ours, baseline = (
        result["systems"]["cx-context"],
        result["systems"]["embedding-only"],
    )
    assert result["n"] > 50
    assert ours["chunks_per_s"] > 0 and baseline["chunks_per_s"] > 0
    expected = ours["chunks_per_s"] / baseline["chunks_per_s"]
    assert abs(ours["ratio_to_baseline"] - expected) < 0.01
    assert 0 < ours["ratio_to_baseline"] < 1.5
