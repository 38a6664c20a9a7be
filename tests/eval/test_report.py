"""The evaluation report: sections that ran, one this build lacks, and the tables."""

import json

from cx_context.eval.report import ReportOptions, Section, run_report, systems_table


def test_a_report_runs_what_exists_and_marks_what_does_not(tmp_path):
    sections = (
        Section(
            "redaction",
            "Redaction throughput",
            "bench-redaction",
            lambda o: ["--repeats", "1"],
            "The bundled ABCD turns.",
            "bars",
            ("texts_per_s",),
        ),
        Section(
            "future", "An evaluation to come", "no-such-eval", lambda o: [], "None."
        ),
    )
    messages: list[str] = []
    outcomes = run_report(tmp_path, ReportOptions(), messages.append, sections=sections)
    assert [o.status for o in outcomes] == ["ok", "missing"]
    report = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "| **cx-context** |" in report
    assert "| presidio-default-loop |" in report
    assert "![Redaction throughput](redaction.png)" in report
    assert (tmp_path / "redaction.png").read_bytes().startswith(b"\x89PNG")
    assert "Not available in this build (no `cx-context eval no-such-eval`" in report
    assert "| sentence-transformers |" in report  # versions of every dependency
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["sections"]["future"]["status"] == "missing"
    assert any("redaction" in m for m in messages)

    # Written again from results.json, running nothing, with a note.
    again = run_report(
        tmp_path,
        ReportOptions(note="Run on a shared machine."),
        messages.append,
        sections=sections,
        run=False,
    )
    assert [o.status for o in again] == ["ok", "missing"]
    rewritten = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "Run on a shared machine." in rewritten
    assert "| presidio-default-loop |" in rewritten


def test_the_table_puts_our_system_first_and_says_n_a_for_a_missing_figure():
    table = systems_table(
        {
            "systems": {
                "bm25": {"recall@1": 0.25, "mrr": 0.5},
                "cx-context": {"recall@1": 0.5, "mrr": 0.75, "per_type": {"x": 1}},
                "dense": {"recall@1": 0.125},
            }
        },
        ("recall@1", "mrr"),
    )
    assert table.splitlines() == [
        "| system | recall@1 | mrr |",
        "|---|---:|---:|",
        "| **cx-context** | 0.500 | 0.750 |",
        "| bm25 | 0.250 | 0.500 |",
        "| dense | 0.125 | n/a |",
    ]
