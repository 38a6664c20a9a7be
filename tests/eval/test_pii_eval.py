"""`cx-context eval pii`: the hit rule, the loaders, and a small real run."""

import json

import pytest

from conftest import shared_file
from cx_context.eval.pii import NOT_PERSONAL, PiiEvaluation, _tally, metrics
from cx_context.eval.pii_data import (
    GoldSpan,
    GoldText,
    PiiDataError,
    Scope,
    load_abcd,
    load_presidio_research,
)


def _scope(text: str, *spans: GoldSpan) -> Scope:
    return Scope((GoldText(text, spans),))


def test_a_gold_span_counts_when_half_its_characters_are_covered_whatever_the_type():
    scopes = [_scope("call Ann Lee now", GoldSpan("PERSON", 5, 12))]

    half = metrics(_tally(scopes, [[[("LOCATION", 5, 9)]]]), True)  # "Ann " 4/7
    less = metrics(_tally(scopes, [[[("PERSON", 5, 8)]]]), True)  # "Ann" 3/7

    assert half["recall"] == 1.0
    assert less["recall"] == 0.0


def test_a_prediction_touching_no_gold_span_is_a_false_positive():
    scopes = [_scope("Ann at Acme", GoldSpan("ORGANIZATION", 7, 11))]

    figures = metrics(_tally(scopes, [[[("PERSON", 0, 3), ("PERSON", 7, 11)]]]), True)

    # The organisation is not scored for recall, but a prediction on it is
    # not a false alarm either.
    assert "ORGANIZATION" in NOT_PERSONAL
    assert figures["recall"] is None
    assert figures["false_positives"] == 1
    assert figures["precision"] == 0.5


def test_when_a_record_has_a_bad_span_then_the_error_names_the_record(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            [
                {
                    "full_text": "hi",
                    "spans": [
                        {
                            "entity_type": "PERSON",
                            "start_position": 0,
                            "end_position": 9,
                        }
                    ],
                }
            ]
        )
    )

    with pytest.raises(PiiDataError, match=r"record 0: spans.0 must lie within"):
        load_presidio_research(path)


def test_abcd_gold_is_the_scenario_values_in_customer_turns():
    scopes = load_abcd(shared_file("abcd/abcd_sample.json"))

    scored = [t for scope in scopes for t in scope.texts if t.scored]
    spans = [s for t in scored for s in t.spans]

    assert spans
    assert all(t.text[s.start : s.end] for t in scored for s in t.spans)
    assert not any(t.spans for scope in scopes for t in scope.texts if not t.scored)


def test_a_small_run_reports_both_systems_in_the_eval_md_shape(redactor):
    from cx_context.eval.pii import default_detectors

    data = shared_file("presidio-synth-pii/generated_small.json")

    result = PiiEvaluation(data, "presidio-research", limit=10).run(
        default_detectors(redactor)
    )

    assert result["eval"] == "pii"
    assert result["n"] == 10
    assert set(result["systems"]) == {"cx-context", "presidio-default"}
    for figures in result["systems"].values():
        assert {"recall", "precision", "f1", "per_type", "ms_per_text"} <= set(figures)
    assert "not held-out" in result["settings"]["tuning"]


def test_on_spoken_answers_reading_the_question_finds_what_turns_alone_miss(redactor):  # type: ignore[no-untyped-def]
    from cx_context.eval.pii import default_detectors

    evaluation = PiiEvaluation(
        shared_file("evi-identity/dialogues.en.tsv"), "evi", limit=20
    )
    scopes = evaluation.load()
    result = evaluation.run(default_detectors(redactor, "evi"))

    assert all(not t.scored and t.speaker == "bot" for t in scopes[0].texts[::2])
    assert set(result["systems"]) == {
        "cx-context",
        "cx-context-turns-alone",
        "presidio-default",
    }
    ours = result["systems"]["cx-context"]
    alone = result["systems"]["cx-context-turns-alone"]
    assert ours["precision"] is None
    assert ours["recall"] >= 0.9
    assert ours["recall"] > alone["recall"] + 0.5
