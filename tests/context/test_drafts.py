"""Reply drafts on ABCD: the policy and case they cite, and LLM drafts checked."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from conftest import DIALOGUES, GUIDELINES, make_services
from cx_context.context.drafts import Drafter, DraftRefusedError, NothingToDraftError
from cx_context.context.generation import Generator
from cx_context.context.records import CaseIn, ConsentIn
from cx_context.knowledge.catalog import StoredInteraction, StoredTurn
from cx_context.service.wiring import Services

REFUND_CHAT = "abcd-9489"  # "just wanted to check on the status of a refund"
REFUND_POLICY = "abcd-product-defect-refund-status"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def abcd(
    tmp_path_factory: pytest.TempPathFactory, redactor: Any, embedder: Any
) -> Iterator[Services]:
    """The ABCD manual, five chats and their customers, linked; open cases each."""
    from cx_context.context.customer_sources import read_customers
    from cx_context.knowledge.adapters import read_interactions, read_knowledge

    svc = make_services(Path(tmp_path_factory.mktemp("drafts")) / "data")
    assert svc.ingestor.ingest_documents(read_knowledge(GUIDELINES)).ok
    customers = [p.record for p in read_customers(DIALOGUES) if p.record]
    assert not svc.customers.upsert_many(customers).problems
    chats = list(read_interactions(DIALOGUES))
    assert svc.ingestor.ingest_interactions(chats).ok
    svc.link_interactions([p.record for p in chats if p.record])
    yield svc
    svc.close()


def _drafter(services: Services, reply: str | None, error: bool = False) -> Drafter:
    model = FakeListChatModel(
        responses=[reply or "unused"], error_on_chunk_number=0 if error else None
    )
    return Drafter(
        services.retriever,
        services.output_checker,
        Generator(model, timeout_s=10),
        services.risk_log,
    )


def _inputs(
    services: Services, chat: str = REFUND_CHAT
) -> tuple[StoredInteraction, Any]:
    interaction = services.catalog.interaction(chat)
    assert interaction is not None
    owner = services.customers.customer_of(chat)
    assert owner is not None
    return interaction, services.customers.get(owner)


def test_a_refund_draft_cites_the_refund_policy_section_and_the_open_case(
    abcd: Services,
) -> None:
    draft = abcd.agent_summaries.draft(REFUND_CHAT)

    kinds = {s.kind: s for s in draft.sources}
    assert kinds["policy"].ref.startswith(REFUND_POLICY + "#")
    assert draft.policy is not None and draft.policy["document_id"] == REFUND_POLICY
    assert kinds["case"].ref == draft.case_id == "abcd-case-9489"
    # Each cited source appears in the text as [n], and the text passed the check.
    for source in draft.sources:
        assert f"[{source.number}]" in draft.text
    assert "Your case abcd-case-9489 is open." in draft.text
    assert "status of a refund" in draft.text  # acknowledges what the customer said
    assert draft.output_check is not None
    assert draft.output_check["decision"] == "allow"
    assert draft.generator == "composed-v1"
    # Written from redacted text: the customer's name and email never appear.
    assert "Alessandro" not in draft.text and "aphoenix" not in draft.text


def test_a_fake_llm_draft_promising_twice_the_refund_is_caught_and_logged(
    abcd: Services,
) -> None:
    interaction, view = _inputs(abcd)
    composed = abcd.agent_summaries.draft(REFUND_CHAT)
    policy = next(s.number for s in composed.sources if s.kind == "policy")
    reply = (
        f"You asked about the status of your refund. [1] "
        f"We will refund twice the amount. [{policy}]"
    )

    draft = _drafter(abcd, reply).draft(interaction, view, request_id="req-twice")

    assert draft.text == composed.text  # the composed draft, not the model's
    assert "twice" not in draft.text
    assert draft.fallback_reason is not None
    assert "escalate" in draft.fallback_reason
    checked = draft.output_check
    assert checked is not None
    assert [s["supported"] for s in checked["sentences"]] == [True, False]
    events = [r for r in abcd.risk_log.list() if r["request_id"] == "req-twice"]
    assert events and events[0]["detector"] == "unsupported_sentence"
    assert events[0]["actor"] == {"role": "agent_assist", "purpose": "reply_draft"}
    assert events[0]["versions"]["prompt_template"] == "draft/v1"


def test_a_fake_llm_draft_that_sticks_to_its_sources_is_used(abcd: Services) -> None:
    interaction, view = _inputs(abcd)
    composed = abcd.agent_summaries.draft(REFUND_CHAT)
    case = next(s.number for s in composed.sources if s.kind == "case")
    reply = (
        "You wanted to check on the status of a refund. [1] "
        f"Your case abcd-case-9489 is open. [{case}]"
    )

    draft = _drafter(abcd, reply).draft(interaction, view)

    assert draft.text == reply
    assert draft.generator.startswith("fake-list")
    assert draft.prompt == "draft/v1"
    assert draft.fallback_reason is None


def test_a_failing_model_falls_back_to_the_composed_draft(abcd: Services) -> None:
    interaction, view = _inputs(abcd)

    draft = _drafter(abcd, "x", error=True).draft(
        interaction, view, request_id="req-err"
    )

    assert draft.generator == "composed-v1" and draft.text
    assert draft.fallback_reason is not None and "failed" in draft.fallback_reason
    events = [r for r in abcd.risk_log.list() if r["request_id"] == "req-err"]
    assert [e["detector"] for e in events] == ["generation_error"]


def test_no_draft_for_a_closed_case_or_without_ai_consent(abcd: Services) -> None:
    closed = "abcd-5798"
    owner = abcd.customers.customer_of(closed)
    assert owner is not None
    case = abcd.customers.get(owner).cases[0]
    abcd.customers.upsert_state(
        owner,
        cases=[
            CaseIn(
                id=case.id,
                status="closed",
                intent=case.intent,
                opened_at=case.opened_at,
                closed_at=NOW - timedelta(hours=1),
            )
        ],
    )
    with pytest.raises(DraftRefusedError, match=r"is closed .*open or pending"):
        abcd.agent_summaries.draft(closed)

    withdrawn = "abcd-3647"
    owner = abcd.customers.customer_of(withdrawn)
    assert owner is not None
    abcd.customers.upsert_state(
        owner,
        consents=[
            ConsentIn(
                purpose="ai_assistance",
                status="withdrawn",
                decided_at=NOW - timedelta(hours=1),
            )
        ],
    )
    with pytest.raises(DraftRefusedError, match="withdrawn AI-assistance consent"):
        abcd.agent_summaries.draft(withdrawn)


def test_a_conversation_of_only_system_turns_gets_no_draft(abcd: Services) -> None:
    only_system = StoredInteraction(
        "sys-1",
        "voice",
        "ivr",
        None,
        None,
        None,
        None,
        [StoredTurn(1, "system", "Call queued."), StoredTurn(2, "system", "Dropped.")],
        {},
        "h",
    )
    with pytest.raises(NothingToDraftError, match="only system turns"):
        _drafter(abcd, None).draft(only_system)
