"""`cx-context eval summaries` on a few TweetSumm chats and the bundled ABCD chats."""

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import DIALOGUES, shared_file
from cx_context.eval.summaries import (
    SummaryDataError,
    is_tuning,
    lead,
    load_dialogues,
    redacted_interaction,
    run_support,
    score,
)
from cx_context.guardrails.output_checks import OutputChecker
from cx_context.service.cli import main


def _subset(tmp_path: Path, n: int) -> Path:
    source = shared_file("tweetsumm/tweetsumm_dev600.jsonl")
    lines = source.read_text(encoding="utf-8").splitlines()
    reported = [
        line for line in lines if not is_tuning(json.loads(line)["conversation_id"])
    ]
    path = tmp_path / "few.jsonl"
    path.write_text("\n".join(reported[:n]) + "\n", encoding="utf-8")
    return path


def test_the_command_reports_rouge_for_us_and_both_baselines(
    tmp_path: Path, capsys: Any, redactor: Any, embedder: Any
) -> None:
    data = _subset(tmp_path, 8)
    with pytest.raises(SystemExit) as exited:
        main(["eval", "summaries", str(data), "--abcd", str(DIALOGUES), "--json"])
    assert exited.value.code == 0
    result = json.loads(capsys.readouterr().out)

    assert result["eval"] == "summaries" and result["n"] == 8
    assert set(result["systems"]) == {"cx-context", "lead", "lexrank"}
    for figures in result["systems"].values():
        assert set(figures) == {"rouge1", "rouge2", "rougeL", "rougeL_mean"}
        assert 0.0 < figures["rougeL_mean"] <= figures["rougeL"] <= 1.0
    support = result["support"]["systems"]
    assert support["cx-context"]["supported_share"] == 1.0
    assert support["control: next turn cited"]["supported_share"] < 0.5


def test_lead_takes_the_opening_customer_and_agent_sentences(redactor: Any) -> None:
    dialogue = load_dialogues(Path(_subset_file()))[0]
    text = lead(redacted_interaction(dialogue, redactor))
    assert text.startswith("Customer: ") and " Agent: " in text
    assert "@" not in text  # handles are channel noise


def _subset_file() -> str:
    return str(shared_file("tweetsumm/tweetsumm_dev600.jsonl"))


def test_rouge_is_the_best_reference_and_the_mean_over_references() -> None:
    figures = score(["the cat sat"], [["the cat sat", "a dog ran away"]])
    assert figures["rougeL"] == 1.0
    assert figures["rougeL_mean"] == 0.5


def test_a_file_not_in_the_layout_is_named_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"conversation_id": "a", "turns": [], "abstractive_summaries": []})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(SummaryDataError, match=r"bad.jsonl: line 1: turns must be"):
        load_dialogues(bad)


def test_every_line_of_an_abcd_summary_is_supported_by_its_cited_turn(
    redactor: Any, embedder: Any
) -> None:
    result = run_support(DIALOGUES, redactor, OutputChecker(embedder.embed, redactor))
    assert result["n"] > 10
    assert result["systems"]["cx-context"]["supported_share"] == 1.0
