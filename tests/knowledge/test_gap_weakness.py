"""Clustering every question and keeping the weakly answered clusters."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from conftest import make_services
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.gaps import answer_weakness
from cx_context.knowledge.questions import Retrieved, StoredQuestion
from cx_context.knowledge.records import KnowledgeDocument, Section
from cx_context.service.wiring import Services


def _asked(qid: int, score: float, document: str) -> StoredQuestion:
    return StoredQuestion(
        qid,
        datetime.now(UTC),
        f"question {qid}",
        "answered" if score >= 0.45 else "abstained",
        score,
        {},
        (Retrieved(document, f"{document}-1", score),),
    )


def test_a_group_over_the_threshold_that_scores_low_for_its_article_is_weak() -> None:
    answered = [_asked(i, 0.8 + i / 100, "fees") for i in range(6)]
    answered += [_asked(10 + i, 0.75 + i / 100, "cards") for i in range(6)]
    # Over the 0.45 threshold, but well under what "fees" and "cards"
    # usually score, and spread over three articles.
    moderate = [
        _asked(20, 0.55, "fees"),
        _asked(21, 0.52, "cards"),
        _asked(22, 0.5, "delivery"),
        _asked(23, 0.56, "fees"),
    ]
    questions = answered + moderate

    fees, cards, spread = answer_weakness(
        questions, [list(range(6)), list(range(6, 12)), list(range(12, 16))]
    )

    assert spread >= 0.5 > max(fees, cards)
    assert spread > fees + 2 and spread > cards + 2


@pytest.fixture
def bank(tmp_path, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    svc = make_services(tmp_path / "data")
    articles = {
        "card-delivery": (
            "Card delivery",
            "A new card arrives within 5 working days of ordering it. "
            "You can track the delivery of your card in the app.",
        ),
        "top-up": (
            "Topping up",
            "Top up your account by bank transfer or with a debit card. "
            "A top-up by card arrives at once.",
        ),
    }
    for position, (doc_id, (title, text)) in enumerate(articles.items(), start=1):
        document = KnowledgeDocument(
            id=doc_id,
            title=title,
            body=[Section(heading=title, text=text)],
            source="test",
        )
        assert svc.ingestor.ingest_documents([Parsed(position, document)]).ok
    yield svc
    svc.close()


def test_clustering_every_question_reports_the_unanswered_topic_only(
    bank: Services,
) -> None:
    answered = [
        "When will my new card arrive?",
        "How long does card delivery take?",
        "My card has not arrived yet, how long does delivery take?",
        "Can I track the delivery of my card?",
        "How can I top up my account?",
        "Can I top up with a debit card?",
        "How do I add money to my account by bank transfer?",
        "How long does a top-up by card take?",
    ]
    unanswered = [
        "Why was I charged a fee for withdrawing cash abroad?",
        "What is the ATM withdrawal fee in another country?",
        "I paid a fee at a foreign cash machine, why?",
        "How much do you charge for cash withdrawals abroad?",
    ]
    for question in answered + unanswered:
        bank.answerer.answer(question)
    config = replace(
        bank.gap_finder.config,
        cluster_all=True,
        min_questions=3,
        cluster_distance=0.6,
        min_weakness=0.5,
    )

    report = bank.gap_finder.find(config=config)

    asked = {q.id: q.question for q in bank.question_log.between()}
    assert report.n_questions == len(answered) + len(unanswered)
    assert report.gaps, report.to_dict()
    questions = {asked[i] for gap in report.gaps for i in gap.question_ids}
    assert questions & set(unanswered)
    assert not questions & set(answered)
    assert report.settings["cluster_all"] is True
