"""Answers written by a chat model: checked before they leave, offline when it fails.

The model is langchain-core's fake chat model; everything else is real.
"""

import re
import uuid

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from cx_context.context.answers import ABSTENTION_TEXT, Answer, Answerer
from cx_context.context.generation import Generator
from cx_context.guardrails.output_checks import claims
from cx_context.guardrails.risklog import RiskFilter

REFUND_QUESTION = "how do I get a refund for an item I returned?"


def _answerer(services, *replies: str, sleep: float | None = None, timeout: float = 10):  # type: ignore[no-untyped-def]
    model = FakeListChatModel(responses=list(replies), sleep=sleep)
    base = services.answerer
    return Answerer(
        services.retriever,
        services.embedder,
        services.redactor,
        services.question_log,
        base.config,
        screen=services.injection_screen,
        checker=services.output_checker,
        risk_log=services.risk_log,
        hybrid=services.hybrid_retriever,
        generator=Generator(model, timeout),
    )


def _quoted_sentence(services) -> str:  # type: ignore[no-untyped-def]
    """A sentence of passage 1 as the model is shown it (the offline answer's first)."""
    offline = services.answerer.answer(REFUND_QUESTION)
    first = next(s for s in offline.sentences if s.citation == 1)
    return first.text.rstrip(".") + "."


def _ask(answerer: Answerer) -> tuple[Answer, str]:
    request_id = f"req-{uuid.uuid4().hex[:10]}"
    return answerer.answer(REFUND_QUESTION, request_id=request_id), request_id


def _events(services, request_id: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    return services.risk_log.list(RiskFilter(request_id=request_id))


def _is_safe(services, answer: Answer) -> None:  # type: ignore[no-untyped-def]
    """Every citation names a listed passage, and the released text passes the check."""
    numbers = {c.number for c in answer.citations}
    cited = {n for claim in claims(answer.text) for n in claim.citations}
    assert cited <= numbers
    assert numbers, "an answer that leaves has sources"


def test_a_grounded_model_answer_goes_out_with_its_prompt_version(
    sample_services,
) -> None:  # type: ignore[no-untyped-def]
    sentence = _quoted_sentence(sample_services)
    answer, _ = _ask(_answerer(sample_services, f"{sentence} [1]"))

    assert not answer.abstained
    assert answer.text.startswith(sentence.rstrip("."))
    assert answer.prompt == "answer/v1"
    assert answer.generator.startswith("fake-list-chat-model")
    assert answer.fallback is None
    assert [c.number for c in answer.citations] == [1]
    _is_safe(sample_services, answer)


def test_an_unsupported_claim_is_removed_and_logged(sample_services) -> None:  # type: ignore[no-untyped-def]
    sentence = _quoted_sentence(sample_services)
    invented = "Every customer who asks also receives a free television set by courier."
    answer, request_id = _ask(
        _answerer(sample_services, f"{sentence} [1] {invented} [1]")
    )

    assert "television" not in answer.text
    assert not answer.abstained
    _is_safe(sample_services, answer)
    events = _events(sample_services, request_id)
    assert any(e["detector"] == "unsupported_sentence" for e in events), events


def test_a_citation_to_a_passage_not_provided_is_caught(sample_services) -> None:  # type: ignore[no-untyped-def]
    sentence = _quoted_sentence(sample_services)
    answer, request_id = _ask(_answerer(sample_services, f"{sentence} [7]"))

    assert "[7]" not in answer.text
    assert 7 not in {c.number for c in answer.citations}
    assert answer.fallback == "output_rejected"
    assert answer.generator == "extractive"
    _is_safe(sample_services, answer)
    detectors = {e["detector"] for e in _events(sample_services, request_id)}
    assert "generation_fallback" in detectors
    assert "unknown_citation" in detectors, detectors


def test_a_leaked_email_address_never_leaves(sample_services) -> None:  # type: ignore[no-untyped-def]
    sentence = _quoted_sentence(sample_services)
    leak = "You can also write to jane.doe@example.com about it."
    answer, request_id = _ask(_answerer(sample_services, f"{sentence} [1] {leak} [1]"))

    assert "jane.doe@example.com" not in answer.text
    assert not re.search(r"[\w.]+@[\w.]+\.\w+", answer.text)
    _is_safe(sample_services, answer)
    detectors = {e["detector"] for e in _events(sample_services, request_id)}
    assert "pii_not_in_context" in detectors, detectors


def test_a_model_that_times_out_is_replaced_by_the_offline_answer(
    sample_services,
) -> None:  # type: ignore[no-untyped-def]
    offline = sample_services.answerer.answer(REFUND_QUESTION)
    answer, request_id = _ask(
        _answerer(sample_services, "too late [1]", sleep=3.0, timeout=0.3)
    )

    assert answer.text == offline.text
    assert answer.generator == "extractive"
    assert answer.fallback == "timeout"
    events = _events(sample_services, request_id)
    fallback = [e for e in events if e["detector"] == "generation_fallback"]
    assert len(fallback) == 1
    assert fallback[0]["category"] == "value_chain_component_integration"


def test_a_model_that_finds_no_answer_makes_an_abstention(sample_services) -> None:  # type: ignore[no-untyped-def]
    answer, _ = _ask(_answerer(sample_services, "NO_ANSWER"))

    assert answer.abstained
    assert answer.text == ABSTENTION_TEXT
    assert answer.citations == []
    assert "found no answer" in (answer.reason or "")


@pytest.mark.parametrize("reply", ["", "   "])
def test_an_empty_model_reply_falls_back(sample_services, reply: str) -> None:  # type: ignore[no-untyped-def]
    answer, _ = _ask(_answerer(sample_services, reply))

    assert answer.fallback == "model_error"
    assert answer.generator == "extractive"
    assert not answer.abstained
