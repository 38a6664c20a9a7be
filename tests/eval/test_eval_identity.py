"""`cx-context eval identity` on a fixed subset of the EVI calls."""

import json

import pytest

from conftest import shared_file
from cx_context.eval.identity import BASELINE, WRITTEN_BASELINE, run

pytestmark = pytest.mark.shared_data

METRICS = {"top1_accuracy", "false_accept_rate", "abstain_rate"}


def test_identity_eval_reports_our_resolver_above_exact_matching() -> None:
    data = shared_file("evi-identity/records.en.csv").parent
    shared_file("evi-identity/dialogues.en.tsv")

    # The first 120 calls by dialogue id: deterministic, and quick.
    result = run(data, limit=120)

    assert json.loads(json.dumps(result)) == result
    assert result["eval"] == "identity"
    assert result["dataset"] == "evi-en-gb"
    assert set(result["systems"]) == {"cx-context", BASELINE, WRITTEN_BASELINE}
    for figures in result["systems"].values():
        assert set(figures) == METRICS
        assert all(0.0 <= value <= 1.0 for value in figures.values())
    settings = result["settings"]
    assert 0.5 <= settings["accept_threshold"] <= 1.0
    assert settings["n_profiles"] == 10_000
    assert result["n"] + settings["n_dev"] == 120
    ours = result["systems"]["cx-context"]
    assert ours["top1_accuracy"] > result["systems"][BASELINE]["top1_accuracy"]
    assert ours["top1_accuracy"] >= 0.75
    assert settings["corroboration"] == {"agreeing": 2, "disagreeing": 0}
    ablations = result["ablations"]
    assert set(ablations) == {"one-disagreement-allowed", "without-corroboration"}
    for loose in ablations.values():
        assert set(loose) == METRICS | {"rule", "accept_threshold", "dev"}
        # At one threshold, the corroboration rule only ever withholds.
        if loose["accept_threshold"] == settings["accept_threshold"]:
            assert ours["false_accept_rate"] <= loose["false_accept_rate"]
            assert ours["abstain_rate"] >= loose["abstain_rate"]
    assert ablations["without-corroboration"]["rule"] is None
