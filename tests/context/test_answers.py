"""Answers composed from retrieved passages, with citations, or an abstention."""

import pytest
from sqlalchemy import select

from cx_context.context.answers import ABSTENTION_TEXT
from cx_context.context.errors import InvalidQuestionError
from cx_context.knowledge.database import QuestionRow
from cx_context.knowledge.errors import UnknownFilterError

REFUND_QUESTION = "how do I get a refund for an item I returned?"


def test_a_question_the_manual_answers_cites_the_refund_section(
    sample_services,
) -> None:  # type: ignore[no-untyped-def]
    answer = sample_services.answerer.answer(REFUND_QUESTION)

    assert not answer.abstained
    top = answer.citations[0]
    assert top.title.startswith("Product Defect:")
    assert "Refund" in top.title
    assert answer.text.count("[1]") >= 1
    # Every citation number in the text refers to a listed passage.
    numbers = {c.number for c in answer.citations}
    assert {s.citation for s in answer.sentences} == numbers


def test_answer_sentences_are_quoted_from_the_cited_passages(sample_services) -> None:  # type: ignore[no-untyped-def]
    from cx_context.knowledge.vectorstore import Collection

    answer = sample_services.answerer.answer(REFUND_QUESTION)
    passages = {
        c.number: sample_services.store.get(Collection.KNOWLEDGE, [c.chunk_id])[0].text
        for c in answer.citations
    }
    for sentence in answer.sentences:
        assert sentence.text.rstrip(".") in passages[sentence.citation]


@pytest.mark.parametrize(
    "question",
    [
        "what will the weather be like in Paris tomorrow?",
        "who won the football world cup in 2022?",
        "can you recommend a good pasta recipe",
    ],
)
def test_an_off_topic_question_gets_an_abstention(
    sample_services, question: str
) -> None:  # type: ignore[no-untyped-def]
    answer = sample_services.answerer.answer(question)

    assert answer.abstained
    assert answer.text == ABSTENTION_TEXT
    assert answer.citations == []
    assert answer.best_score is not None and answer.best_score < answer.threshold
    assert "below the threshold" in (answer.reason or "")


def test_every_question_is_logged_redacted_with_its_outcome(sample_services) -> None:  # type: ignore[no-untyped-def]
    answered = sample_services.answerer.answer(
        "This is Maria Gonzalez, maria.gonzalez@example.com: how do I get a refund?"
    )
    abstained = sample_services.answerer.answer("what is the capital of Mongolia?")

    with sample_services.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(QuestionRow))}
    logged = rows[answered.question_id]
    assert logged.outcome == "answered"
    assert "maria" not in logged.question.casefold()
    assert "<EMAIL_ADDRESS_1>" in logged.question
    assert logged.best_score == pytest.approx(answered.best_score)
    assert logged.cited_chunks == [c.chunk_id for c in answered.citations]
    assert rows[abstained.question_id].outcome == "abstained"


def test_a_reply_to_the_bots_postcode_question_is_logged_without_it(  # type: ignore[no-untyped-def]
    sample_services,
) -> None:
    from cx_context.knowledge.conversation import Turn

    dialogue = [
        Turn("user", "I want to check the status of my refund"),
        Turn("bot", "Sure. What is the postcode on your order?"),
        Turn("user", "whiskey 2 0 alpha bravo"),
    ]

    answer = sample_services.answerer.answer(dialogue=dialogue)

    with sample_services.sessions() as session:
        logged = session.get(QuestionRow, answer.question_id)
    assert logged is not None
    assert logged.question == "<POSTCODE_1>"


def test_filters_restrict_the_passages(sample_services) -> None:  # type: ignore[no-untyped-def]
    answer = sample_services.answerer.answer(REFUND_QUESTION, {"tag": "account-access"})
    assert all(
        c.document_id.startswith("abcd-account-access") for c in answer.citations
    )

    nothing = sample_services.answerer.answer(
        REFUND_QUESTION, {"source": "no-such-source"}
    )
    assert nothing.abstained
    assert nothing.reason == "no knowledge passages match the filters"


def test_an_empty_store_says_so_rather_than_blaming_filters(services) -> None:  # type: ignore[no-untyped-def]
    answer = services.answerer.answer(REFUND_QUESTION)

    assert answer.abstained
    assert answer.reason == "no knowledge passages are stored yet"


def test_an_unknown_filter_is_an_error_that_lists_the_allowed_ones(
    sample_services,
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        UnknownFilterError, match="unknown filter 'colour'; allowed filters are"
    ):
        sample_services.answerer.answer(REFUND_QUESTION, {"colour": "red"})


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("   ", "question is empty"),
        ("x" * 2001, "question is 2001 characters, the limit is 2000"),
    ],
)
def test_an_empty_or_over_long_question_is_refused(
    sample_services, question: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidQuestionError, match=message):
        sample_services.answerer.answer(question)


def test_an_abstention_reports_the_score_that_decided_it(sample_services) -> None:  # type: ignore[no-untyped-def]
    """The dense ranking's best passage may be one fusion left out; the
    answer can only quote what retrieval returned, so that decides."""
    from cx_context.context.answers import AnswerConfig, Answerer
    from cx_context.knowledge.conversation import ConversationQuery, Turn

    question = "my jeans don't fit, can I send them back?"
    hybrid = sample_services.hybrid_retriever()
    query = ConversationQuery.from_turns([Turn("user", question)], hybrid.entities)
    result = hybrid.search(query, sample_services.answerer.config.k)
    returned = max(p.score for p in result.passages)
    assert result.signals.best_dense is not None
    assert result.signals.best_dense > returned + 0.01  # the case under test
    threshold = round((result.signals.best_dense + returned) / 2, 3)
    answerer = Answerer(
        sample_services.retriever,
        sample_services.embedder,
        sample_services.redactor,
        sample_services.question_log,
        AnswerConfig(threshold=threshold),
        hybrid=sample_services.hybrid_retriever,
    )

    answer = answerer.answer(question)
    shown = answer.to_dict()

    assert answer.abstained
    assert answer.best_score == pytest.approx(returned)
    assert shown["best_score"] < shown["threshold"] == threshold
    assert answer.reason == (
        f"best retrieved passage similarity {shown['best_score']} is below "
        f"the threshold {threshold}"
    )


def test_a_score_just_under_the_threshold_is_not_shown_as_reaching_it() -> None:
    from cx_context.context.answers import shown

    assert shown(0.44996) == 0.4499
    assert shown(0.46) == 0.46
