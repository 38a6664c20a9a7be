"""The gap evaluation's fixed subsets and scoring (the full run is for the CLI)."""

from datetime import UTC, datetime
from pathlib import Path

from conftest import shared_file
from cx_context.eval.gaps import (
    N_UNCOVERED,
    article,
    load,
    matched_intent,
    nearest_article_baseline,
    score,
    split_training,
    uncovered_intents,
)
from cx_context.knowledge.gaps import GapConfig
from cx_context.knowledge.questions import Retrieved, StoredQuestion
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services


def test_the_uncovered_intents_are_fixed_and_documented() -> None:
    data = load(shared_file("banking77/test.csv").parent)

    chosen = uncovered_intents(data.intents)

    assert chosen == uncovered_intents(list(reversed(data.intents)))
    assert len(chosen) == N_UNCOVERED and set(chosen) <= set(data.intents)
    assert "apple_pay_or_google_pay" in chosen and "card_arrival" not in chosen
    articles, dev = split_training(data)
    written = {q for questions in articles.values() for q in questions}
    assert not written & {text for text, _ in dev}
    document = article("card_arrival", articles["card_arrival"])
    assert document.title == "Card arrival" and document.body[0].text.startswith("- ")


def test_a_gap_counts_for_the_intent_most_of_its_questions_belong_to() -> None:
    intent_of = {1: "a", 2: "a", 3: "b", 4: "c", 5: "c", 6: "c"}

    result = score([[1, 2, 3], [4, 5, 6], [3, 4, 5]], intent_of, ["a", "b"])

    assert result["recall"] == 0.5  # "a" found, "b" never leads a gap
    assert result["precision"] == 1 / 3
    assert result["n_gaps"] == 3


def test_a_tie_goes_to_the_intent_first_by_name_whatever_the_order() -> None:
    intent_of = {1: "b", 2: "a", 3: "b", 4: "a"}

    assert matched_intent([1, 2, 3, 4], intent_of) == "a"
    assert matched_intent([4, 3, 2, 1], intent_of) == "a"
    assert score([[1, 2, 3, 4]], intent_of, ["a"])["precision"] == 1.0


def test_the_service_uses_the_gap_settings_the_evaluation_reports(
    services: Services,
) -> None:
    config = services.gap_finder.config

    # The settings' defaults and GapConfig's are the same numbers: those
    # chosen on the dev questions of `cx-context eval gaps`.
    assert config == GapConfig(answer_threshold=services.settings.abstain_threshold)
    assert config.cluster_all is True
    assert (config.cluster_distance, config.min_questions) == (0.25, 6)
    assert (config.min_weakness, config.min_unfamiliar) == (0.0, 1.25)
    assert config.min_unsupported == 0.0


def test_each_gap_threshold_is_a_setting(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        gap_min_weakness=1.5,
        gap_min_unfamiliar=0.5,
        gap_min_unsupported=0.75,
    )
    services = Services(settings)
    try:
        config = services.gap_finder.config
        assert (config.min_weakness, config.min_unfamiliar) == (1.5, 0.5)
        assert config.min_unsupported == 0.75
    finally:
        services.close()


def test_the_baseline_groups_abstained_questions_by_nearest_article() -> None:
    def asked(qid: int, score: float, doc: str) -> StoredQuestion:
        return StoredQuestion(
            qid,
            datetime.now(UTC),
            "q",
            "abstained",
            score,
            {},
            (Retrieved(doc, "c", score),),
        )

    questions = [
        asked(1, 0.3, "x"),
        asked(2, 0.2, "x"),
        asked(3, 0.6, "x"),
        asked(4, 0.1, "y"),
    ]

    assert nearest_article_baseline(questions, 0.45, 2) == [[1, 2]]
