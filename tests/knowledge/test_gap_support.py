"""Sentence support: the closest single sentence of the article a question got."""

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.gap_support import (
    SentenceVectors,
    article_sentences,
    sentence_support,
    unsupported,
)
from cx_context.knowledge.questions import Retrieved, StoredQuestion
from cx_context.knowledge.records import KnowledgeDocument, Section
from cx_context.service.wiring import Services


def _asked(qid: int, document: str | None, outcome: str = "answered") -> StoredQuestion:
    retrieved = () if document is None else (Retrieved(document, "c", 0.6),)
    return StoredQuestion(
        qid, datetime.now(UTC), f"question {qid}", outcome, 0.6, {}, retrieved
    )


def test_every_line_bullet_and_sentence_of_the_sections_is_a_sentence() -> None:
    sections = [
        {"heading": "Fees", "text": "A transfer costs 1 EUR. It is free in the app."},
        {
            "heading": "Asked",
            "text": "- Why a fee?\n* Is it free?\n\n2. What <PERSON_1>?",
        },
    ]

    assert article_sentences(sections) == [
        "A transfer costs 1 EUR.",
        "It is free in the app.",
        "Why a fee?",
        "Is it free?",
        "What <PERSON_1>?",
    ]


def test_support_is_the_closest_sentence_of_the_first_article_only() -> None:
    questions = [_asked(1, "fees"), _asked(2, "cards"), _asked(3, None)]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    sentences = {
        "fees": np.array([[0.6, 0.8], [0.8, 0.6]], dtype=np.float32),
        # "cards" was retrieved but is no longer stored: nothing supports it.
    }

    support = sentence_support(questions, vectors, sentences)

    assert support == pytest.approx([0.8, 0.0, 0.0])


def test_a_group_is_unsupported_in_interquartile_ranges_of_the_answered() -> None:
    questions = [_asked(i, "a") for i in range(4)] + [_asked(4, "a", "abstained")]
    support = [0.7, 0.8, 0.9, 1.0, 0.1]  # answered: quartiles 0.775 / 0.85 / 0.925

    typical, poor = unsupported(
        questions,
        [[1, 2], [0, 4]],
        support,
        [q.outcome == "answered" for q in questions],
    )

    assert typical == pytest.approx(0.0)
    assert poor == pytest.approx((0.85 - 0.4) / 0.15)


def test_sentences_are_embedded_once_per_version_of_an_article(
    card_delivery: Services,
) -> None:
    calls: list[int] = []

    class Counting:
        def embed(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
            calls.append(len(texts))
            return card_delivery.embedder.embed(texts)

    sentences = SentenceVectors(Counting(), card_delivery.sessions)  # type: ignore[arg-type]

    first = sentences.of({"card-delivery", "gone"})
    again = sentences.of({"card-delivery"})

    assert set(first) == {"card-delivery"} and first["card-delivery"].shape[0] == 2
    assert np.array_equal(first["card-delivery"], again["card-delivery"])
    assert calls == [2]
    changed = KnowledgeDocument(
        id="card-delivery",
        title="Card delivery",
        body=[Section(heading="Delivery", text="Cards arrive in 3 days.")],
        source="test",
    )
    assert card_delivery.ingestor.ingest_documents([Parsed(1, changed)]).ok
    assert sentences.of({"card-delivery"})["card-delivery"].shape[0] == 1
    assert calls == [2, 1]


def test_questions_a_sentence_says_are_supported_and_the_others_a_gap(
    card_delivery: Services,
) -> None:
    said = [
        "How many working days until my new card arrives?",
        "Can I track the delivery of my card in the app?",
        "Will my new card arrive within 5 working days?",
        "Where in the app do I track my card delivery?",
    ]
    unsaid = [
        "Can my card be delivered to a different address?",
        "Can I change the address my card is delivered to?",
        "My card went to my old address, can you deliver it elsewhere?",
        "Deliver my card to my office address, please",
    ]
    for question in said + unsaid:
        card_delivery.answerer.answer(question)
    loose = replace(
        card_delivery.gap_finder.config,
        min_questions=3,
        cluster_distance=0.4,
        min_weakness=-10.0,
        min_unfamiliar=0.0,
        min_unsupported=0.0,
    )

    found = card_delivery.gap_finder.candidates(config=loose)
    report = card_delivery.gap_finder.find(config=loose)

    # Both sets of questions retrieve the delivery article; only the first
    # finds a sentence of it that says nearly the same thing.
    questions = found.questions
    support = sentence_support(
        questions,
        found.vectors,
        SentenceVectors(card_delivery.embedder, card_delivery.sessions).of(
            {"card-delivery"}
        ),
    )
    of = {q.question: value for q, value in zip(questions, support, strict=True)}
    assert min(of[q] for q in said) > max(of[q] for q in unsaid), of
    asked = {q.id: q.question for q in questions}
    reported = {asked[i] for gap in report.gaps for i in gap.question_ids}
    assert reported == set(unsaid), found
    assert found.unsupported[0] > 0.0
    assert report.settings["min_unsupported"] == 0.0
    # Supported as well as the answered questions are, it would not be a gap.
    stricter = replace(loose, min_unsupported=found.unsupported[0] + 0.01)
    assert card_delivery.gap_finder.find(config=stricter).gaps == []
