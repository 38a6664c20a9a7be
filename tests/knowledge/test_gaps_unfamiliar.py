"""A weakly answered cluster is a gap only when it brings words of its own."""

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from cx_context.knowledge.gaps import (
    Candidates,
    GapConfig,
    content_words,
    is_gap,
    missing_words,
    unfamiliar_words,
)
from cx_context.knowledge.questions import Retrieved, StoredQuestion
from cx_context.service.wiring import Services


def _asked(qid: int, text: str, document: str | None) -> StoredQuestion:
    retrieved = () if document is None else (Retrieved(document, "c", 0.6),)
    return StoredQuestion(qid, datetime.now(UTC), text, "answered", 0.6, {}, retrieved)


def test_content_words_drop_stop_words_placeholders_and_fold_endings() -> None:
    words = content_words("When will my <PERSON_1> card arrive? It arrived, arrives")

    assert words == {"card", "arriv"}
    assert content_words("fees") == content_words("fee") == {"fee"}
    assert content_words("How do I?") == set()


def test_unfamiliar_words_count_per_question_those_the_article_never_uses() -> None:
    vocabularies = {"pin": content_words("Unblock a blocked PIN in the app")}
    questions = [
        _asked(1, "My PIN is blocked", "pin"),
        _asked(2, "How do I unblock my PIN?", "pin"),
        _asked(3, "Can I pay with Apple Pay?", "pin"),
        _asked(4, "Does contactless work with Google Pay?", "pin"),
        _asked(5, "Something nothing retrieved", None),
        _asked(6, "How do I?", "pin"),
    ]

    familiar, foreign, nothing, wordless = unfamiliar_words(
        questions, [[0, 1], [2, 3], [4], [5]], vocabularies
    )

    assert familiar == 0.0
    # "apple", "pay"; "contactless", "work", "google", "pay", "does": a count
    # per question, so the longer question weighs more.
    assert foreign == (2 + 5) / 2
    assert nothing == 1.0  # nothing retrieved: its one word is missing
    assert wordless == 0.0


def test_missing_words_are_those_two_questions_use_and_the_article_does_not() -> None:
    known = content_words("Pay by card in shops and online")
    questions = [
        _asked(1, "Can I pay with Apple Pay?", "a"),
        _asked(2, "Does Apple Pay work with my card?", "a"),
        _asked(3, "Is Google Pay supported?", "a"),
        _asked(4, "Apple watch payments?", "a"),
    ]

    assert missing_words(questions, known) == ["apple"]
    assert missing_words(questions[:1], known) == []


def test_a_weak_group_is_a_gap_only_when_its_words_are_unfamiliar_too() -> None:
    config = GapConfig(min_weakness=1.0, min_unfamiliar=1.25, min_unsupported=0.0)

    assert is_gap(config, weakness=2.0, unanswered=0.0, unfamiliar=1.25, unsupported=0)
    assert not is_gap(
        config, weakness=2.0, unanswered=0.0, unfamiliar=1.0, unsupported=0
    )
    assert not is_gap(
        config, weakness=0.5, unanswered=0.0, unfamiliar=3.0, unsupported=0
    )
    # A sentence of the article matches it as well as it does answered questions.
    assert not is_gap(
        config, weakness=2.0, unanswered=0.0, unfamiliar=3.0, unsupported=-0.5
    )
    # Mostly unanswered: a gap whatever the words.
    assert is_gap(config, weakness=0.0, unanswered=0.6, unfamiliar=0.0, unsupported=-1)


def test_without_signals_every_clustered_group_is_a_gap() -> None:
    # Only the weak questions were clustered (`cluster_all` off).
    found = Candidates(
        [], [], [], np.zeros((4, 2), dtype=np.float32), [[0, 1], [2, 3]], [], [], [], []
    )
    strict = GapConfig(cluster_all=False, min_weakness=9.0, min_unfamiliar=1.0)

    assert found.gaps(strict) == [[0, 1], [2, 3]]


def test_a_negative_min_unfamiliar_is_refused() -> None:
    with pytest.raises(ValueError, match=r"min_unfamiliar must be >= 0, got -0.5"):
        GapConfig(min_unfamiliar=-0.5)


def test_the_finder_keeps_the_cluster_whose_words_the_article_lacks(
    card_delivery: Services,
) -> None:
    delivery = [
        "When will my new card arrive?",
        "How long does card delivery take?",
        "Can I track the delivery of my card in the app?",
        "How many working days until my new card arrives?",
    ]
    contactless = [
        "Why does contactless not work on my card?",
        "Contactless payments keep failing with my card",
        "My card's contactless tap is not working",
        "Contactless stopped working on my card",
    ]
    for question in delivery + contactless:
        card_delivery.answerer.answer(question)
    loose = replace(
        card_delivery.gap_finder.config,
        min_questions=3,
        cluster_distance=0.6,
        min_weakness=-10.0,  # every cluster is weak enough: the words decide
        min_unsupported=-10.0,
        min_unfamiliar=1.25,  # delivery: 0.5 words per question, contactless 2.25
    )

    found = card_delivery.gap_finder.candidates(config=loose)
    report = card_delivery.gap_finder.find(config=loose)

    asked = {q.id: q.question for q in card_delivery.question_log.between()}
    reported = {asked[i] for gap in report.gaps for i in gap.question_ids}
    assert reported & set(contactless), found
    assert not reported & set(delivery)
    kept = [[found.questions[i].id for i in g] for g in found.gaps(loose)]
    assert sorted(kept) == sorted(gap.question_ids for gap in report.gaps)
    assert report.settings["min_unfamiliar"] == 1.25
    reasons = [a.reason for gap in report.gaps for a in gap.nearest_articles]
    assert any("words it never uses: contactless" in r for r in reasons), reasons
