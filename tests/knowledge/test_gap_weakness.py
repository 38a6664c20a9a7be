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


def test_a_group_behind_the_best_group_of_its_own_article_is_weaker() -> None:
    owner = [_asked(i, 0.8, "fees") for i in range(6)]
    behind = [_asked(10 + i, 0.6, "fees") for i in range(6)]
    alone = [_asked(20 + i, 0.6, "cards") for i in range(6)]

    strong, weak, owns = answer_weakness(
        owner + behind + alone, [range(6), range(6, 12), range(12, 18)]
    )

    # "fees" answers the first group well: the second is about something else.
    assert weak > owns > strong
    spread = 0.8 - 0.6  # the interquartile range of the answered scores
    assert weak - owns == pytest.approx((0.8 - 0.6) / spread)


def test_when_nothing_is_answered_every_large_enough_group_is_a_gap(
    services: Services,
) -> None:
    pin = [
        "How do I unblock my card PIN?",
        "My PIN is blocked, what do I do?",
        "I typed the wrong PIN three times and now it is blocked",
        "How can I reset a blocked PIN?",
        "How do I unlock a blocked PIN?",
    ]
    for question in pin:
        services.answerer.answer(question)  # an empty knowledge base
    config = replace(services.gap_finder.config, cluster_distance=0.5, min_questions=5)

    report = services.gap_finder.find(config=config)

    assert report.n_questions == len(pin)
    assert [gap.volume for gap in report.gaps] == [len(pin)]
    assert report.gaps[0].outcomes == {"abstained": len(pin)}
