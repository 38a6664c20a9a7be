"""`cx-context eval retrieval` / `eval abstention` on a small DSTC11-layout folder."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shared_file
from cx_context.eval import abstention, retrieval
from cx_context.eval.cli import app

N_LOGS = 60


@pytest.fixture(scope="module")
def small_dstc11(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The first validation turns, with only the entities their labels name."""
    logs = json.loads(shared_file("dstc11-track5/val_logs.json").read_text())[:N_LOGS]
    labels = json.loads(shared_file("dstc11-track5/val_labels.json").read_text())
    labels = labels[:N_LOGS]
    knowledge = json.loads(shared_file("dstc11-track5/knowledge.json").read_text())
    named = {
        (k["domain"], str(k["entity_id"]))
        for label in labels
        for k in label.get("knowledge", [])
    }
    subset: dict[str, dict[str, object]] = {}
    for domain, entity in sorted(named):
        subset.setdefault(domain, {})[entity] = knowledge[domain][entity]
    folder = tmp_path_factory.mktemp("dstc11")
    (folder / "knowledge.json").write_text(json.dumps(subset))
    (folder / "val_logs.json").write_text(json.dumps(logs))
    (folder / "val_labels.json").write_text(json.dumps(labels))
    return folder


def test_retrieval_reports_ours_beside_both_baselines(small_dstc11, embedder) -> None:  # type: ignore[no-untyped-def]
    result = retrieval.run(small_dstc11, split="all", embedder=embedder)

    assert result["eval"] == "retrieval"
    assert result["split"] == "all"
    assert result["n"] == sum(
        1 for i in retrieval.load_instances(small_dstc11) if i.target
    )
    systems = result["systems"]
    assert {"cx-context", "bm25-last-turn", "dense-last-turn"} <= set(systems)
    for figures in systems.values():
        assert set(figures) == {"recall@1", "recall@5", "recall@10", "mrr"}
        assert 0.0 <= figures["recall@1"] <= figures["recall@5"] <= figures["recall@10"]
    # Tracking the entity from the dialogue is the point: it must show.
    assert systems["cx-context"]["recall@5"] > systems["dense-last-turn"]["recall@5"]


def test_abstention_reports_auroc_beside_max_similarity(small_dstc11, embedder) -> None:  # type: ignore[no-untyped-def]
    result = abstention.run(small_dstc11, split="all", embedder=embedder)

    assert set(result["systems"]) == {"cx-context", "max-similarity"}
    for figures in result["systems"].values():
        assert set(figures) == {"auroc", "f1", "precision", "recall", "threshold"}
        assert 0.0 <= figures["auroc"] <= 1.0
    assert result["settings"]["threshold_chosen_on"].startswith("dev")


def test_a_folder_without_the_dstc11_files_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["retrieval", str(tmp_path)])

    assert result.exit_code != 0
    # Rich wraps the message in a box; read it as one line.
    message = re.sub(r"[│╭╮╰╯─\s]+", " ", result.output)
    assert "no such file (DATA must hold knowledge.json" in message
