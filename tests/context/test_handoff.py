"""Handoff summaries across channels and after-contact wrap-ups, on the real stores."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cx_context.context.errors import NotFoundError
from cx_context.context.wrapup import due_date
from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.records import Interaction

NOW = datetime.now(UTC).replace(microsecond=0)
EMAIL = "jo.bloggs@example.com"
CUSTOMER = "crm-jo"


def _contact(
    interaction_id: str, channel: str, hours_ago: float, turns: list[tuple[str, str]]
) -> dict[str, Any]:
    started = NOW - timedelta(hours=hours_ago)
    return {
        "id": interaction_id,
        "channel": channel,
        "source_system": "test",
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=10)).isoformat(),
        "customer_identifiers": [{"kind": "email", "value": EMAIL}],
        "intent": "refund",
        "turns": [{"speaker": s, "text": t} for s, t in turns],
    }


BOT = _contact(
    "bot-1",
    "bot",
    5,
    [
        ("customer", "I want a refund for the blender that arrived broken."),
        ("bot", "I have created a return label and sent it to your email."),
        ("customer", "The label link does not work, I cannot open it."),
        ("bot", "Sorry, I am unable to fix the label. Let me pass you to an agent."),
    ],
)
CHAT = _contact(
    "chat-1",
    "chat",
    4,
    [
        ("customer", "The bot could not fix my return label for the broken blender."),
        ("agent", "I have verified your identity and resent the return label."),
        ("agent", "The refund will be processed within 5 business days of the return."),
        ("customer", "Thanks, I will post it today."),
    ],
)
VOICE = _contact(
    "call-1",
    "voice",
    1,
    [
        ("customer", "I am calling because my refund for the blender has not arrived."),
        ("agent", "I can see the return was received yesterday."),
        ("customer", "When will the money be back on my card?"),
    ],
)


def _store(services: Any, contacts: list[dict[str, Any]]) -> None:
    report = services.customers.upsert_many(
        [
            {
                "id": CUSTOMER,
                "source_system": "crm",
                "identifiers": [{"kind": "email", "value": EMAIL}],
                "cases": [
                    {
                        "id": "case-77",
                        "status": "open",
                        "intent": "refund",
                        "subject": "refund for a broken blender",
                        "next_action": "confirm the refund within 2 days",
                        "owning_channel": "voice",
                        "opened_at": (NOW - timedelta(hours=6)).isoformat(),
                    }
                ],
            }
        ]
    )
    assert not report.problems
    parsed = [validate(Interaction, c, "test", n) for n, c in enumerate(contacts, 1)]
    assert services.ingestor.ingest_interactions(parsed).ok
    services.link_interactions([p.record for p in parsed if p.record])


def test_a_handoff_after_bot_chat_and_call_says_what_the_bot_did_and_what_is_open(
    services: Any,
) -> None:
    _store(services, [BOT, CHAT, VOICE])

    handoff = services.agent_summaries.handoff(CUSTOMER)

    assert [i["channel"] for i in handoff["interactions"]] == ["bot", "chat", "voice"]
    sections = handoff["sections"]
    cited = {line["interaction_id"] for s in sections.values() for line in s}
    assert {"bot-1", "chat-1", "call-1"} <= cited
    # What the bot did, cited to its own turn.
    bot_done = [
        line
        for line in sections["done"] + sections["failed"]
        if line["interaction_id"] == "bot-1" and line["speaker"] == "bot"
    ]
    assert any(
        "return label" in line["text"] and line["turns"] == [2] for line in bot_done
    )
    assert any("unable to fix the label" in line["text"] for line in sections["failed"])
    # What is still open: the case from the record and the unanswered question.
    open_texts = [line["text"] for line in sections["open"]]
    assert any("case-77 is open" in text for text in open_texts)
    assert any("When will the money be back" in text for text in open_texts)
    assert any(
        "within 5 business days" in line["text"] and line["source"] == "chat-1#turn-3"
        for line in sections["promised"]
    )
    assert handoff["identity_verified"] is True
    assert {h["kind"] for h in handoff["handoffs"]} >= {"channel_switch"}
    # Every transcript line cites a turn of its interaction.
    for line in (line for s in sections.values() for line in s):
        assert line["case_id"] or line["turns"]
    assert EMAIL not in str(handoff)


def test_a_customer_with_no_interactions_gets_a_marked_empty_handoff(
    services: Any,
) -> None:
    _store(services, [])

    handoff = services.agent_summaries.handoff(CUSTOMER)

    assert (
        handoff["empty_reason"] == f"customer {CUSTOMER} has no interactions on record"
    )
    assert handoff["interactions"] == []
    # Only the record's own open case is listed; nothing is made up.
    assert [line["case_id"] for s in handoff["sections"].values() for line in s] == [
        "case-77"
    ]
    with pytest.raises(NotFoundError):
        services.agent_summaries.handoff("nobody")


def test_a_wrap_up_names_reason_resolution_follow_ups_with_owners_dates_and_a_code(
    services: Any,
) -> None:
    _store(services, [CHAT])

    wrapup = services.agent_summaries.wrapup("chat-1")

    assert wrapup["reason"][0]["turns"] == [1]
    assert wrapup["disposition"] == "resolved_with_follow_up"
    promise = next(f for f in wrapup["follow_ups"] if f["source"] == "chat-1#turn-3")
    assert promise["owner"] == "team" or promise["owner"] == "agent"
    assert promise["due_text"] == "within 5 business days"
    assert promise["due"] is not None
    case = next(f for f in wrapup["follow_ups"] if f["source"] == "case:case-77")
    assert case["owner"] == "voice"
    assert wrapup["stored"] == {"recomputed": True}
    # Kept with the interaction: asked again, it comes from the store.
    assert services.agent_summaries.wrapup("chat-1")["stored"] == {"recomputed": False}


def test_a_changed_interaction_gets_a_new_wrap_up(services: Any) -> None:
    _store(services, [CHAT])
    first = services.agent_summaries.wrapup("chat-1")

    changed = {
        **CHAT,
        "turns": [
            *CHAT["turns"],
            {"speaker": "agent", "text": "I escalated this to my manager."},
        ],
    }
    parsed = [validate(Interaction, changed, "test", 1)]
    assert services.ingestor.ingest_interactions(parsed).ok

    second = services.agent_summaries.wrapup("chat-1")
    assert second["stored"] == {"recomputed": True}
    assert second["disposition"] == "escalated" != first["disposition"]


@pytest.mark.parametrize(
    ("turns", "reason"),
    [
        (
            [("system", "Call queued."), ("system", "Call dropped.")],
            "only system turns",
        ),
        (
            [
                ("customer", "Hola, quiero un reembolso porque el pedido llegó roto."),
                ("agent", "Claro, lo revisamos ahora mismo para usted."),
            ],
            "do not read as English",
        ),
    ],
)
def test_contacts_without_anything_to_summarize_are_marked_empty_never_invented(
    services: Any, turns: list[tuple[str, str]], reason: str
) -> None:
    _store(services, [_contact("odd-1", "chat", 1, turns)])

    wrapup = services.agent_summaries.wrapup("odd-1")
    handoff = services.agent_summaries.handoff(CUSTOMER)

    assert reason in wrapup["empty_reason"]
    assert wrapup["reason"] == wrapup["resolution"] == wrapup["follow_ups"] == []
    assert handoff["skipped"][0]["interaction_id"] == "odd-1"
    assert reason in handoff["empty_reason"]


def test_due_dates_are_read_from_what_was_promised() -> None:
    friday = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert due_date("within 3 business days", friday)[0] == datetime(2026, 3, 11).date()
    assert (
        due_date("we will call you tomorrow", friday)[0] == datetime(2026, 3, 7).date()
    )
    assert due_date("in 2-3 days", friday)[0] == datetime(2026, 3, 9).date()
    assert due_date("soon", friday) == (None, None)


def _with_model(services: Any, reply: str) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from cx_context.context.generation import Generator

    services.__dict__["generator"] = Generator(
        FakeListChatModel(responses=[reply]), timeout_s=10
    )
    services.__dict__.pop("agent_summaries", None)


def test_a_fake_llm_handoff_note_is_kept_only_when_its_facts_are_cited(
    services: Any,
) -> None:
    _store(services, [BOT, CHAT, VOICE])
    # The note's facts are numbered as the summary lists them, section by section.
    facts = [
        line
        for lines in services.agent_summaries.handoff(CUSTOMER)["sections"].values()
        for line in lines
    ]
    wants = next(n for n, line in enumerate(facts, 1) if line["section"] == "wants")

    _with_model(
        services, f"The customer wants a refund for the broken blender. [{wants}]"
    )
    kept = services.agent_summaries.handoff(CUSTOMER)["prose"]
    assert kept["text"] and kept["prompt"] == "handoff/v1"

    _with_model(services, f"We promised the customer a free new blender. [{wants}]")
    withheld = services.agent_summaries.handoff(CUSTOMER)["prose"]
    assert withheld["text"] is None
    assert "the output check decided" in withheld["fallback_reason"]
