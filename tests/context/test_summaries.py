"""Structured extractive summaries: every line comes from the turn it cites."""

import pytest

from cx_context.context.errors import NotFoundError
from cx_context.context.summaries import Field
from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.records import Interaction

ABCD_IDS = ["abcd-3592", "abcd-9489", "abcd-3695", "abcd-5798", "abcd-3647"]


@pytest.mark.parametrize("interaction_id", ABCD_IDS)
def test_every_summary_line_is_found_in_the_turn_it_cites(
    sample_services, interaction_id: str
) -> None:  # type: ignore[no-untyped-def]
    summary = sample_services.summarizer.summarize(interaction_id)
    stored = sample_services.catalog.interaction(interaction_id)
    turns = {t.number: t for t in stored.turns}

    assert summary.field_lines(Field.REASON), "a reason for contact is found"
    for line in summary.lines:
        if not line.turns:  # the recorded outcome of the source system
            continue
        turn = turns[line.turns[0]]
        assert line.text in turn.text
        assert line.speaker == turn.speaker


def test_the_return_conversation_is_summarized_as_an_agent_would(
    sample_services,
) -> None:  # type: ignore[no-untyped-def]
    summary = sample_services.summarizer.summarize("abcd-3592")
    text = {
        name: [(line.text, line.turns) for line in summary.field_lines(name)]
        for name in Field
    }

    assert text[Field.REASON] == [
        ("I need to return an item, can you help me with that?", [3])
    ]
    assert text[Field.PROBLEM] == [("I got the wrong size.", [8])]
    assert ("The manager has been notified.", [24]) in text[Field.ACTIONS]
    assert "we cannot accept the return" in text[Field.OUTCOME][0][0]
    assert "they will give you a call" in text[Field.OPEN][0][0]


def test_summaries_carry_no_raw_customer_values(sample_services) -> None:  # type: ignore[no-untyped-def]
    rendered = str(
        sample_services.summarizer.summarize("abcd-3592").to_dict()
    ).casefold()
    for value in ("crystal", "minh", "cminh730", "625-2661", "3348917502"):
        assert value not in rendered


def test_an_unknown_interaction_is_a_not_found_error(sample_services) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="no interaction with id 'abcd-0'"):
        sample_services.summarizer.summarize("abcd-0")


def test_an_interaction_of_only_system_events_gets_no_invented_lines(services) -> None:  # type: ignore[no-untyped-def]
    record = {
        "id": "sys-1",
        "channel": "web_form",
        "source_system": "test",
        "turns": [
            {"speaker": "system", "text": "Form submitted."},
            {"speaker": "system", "text": "Ticket created."},
        ],
    }
    services.ingestor.ingest_interactions([validate(Interaction, record, "test", 1)])
    summary = services.summarizer.summarize("sys-1")

    assert summary.field_lines(Field.REASON) == []
    assert summary.field_lines(Field.OUTCOME) == []
    assert [line.text for line in summary.field_lines(Field.ACTIONS)] == [
        "Form submitted.",
        "Ticket created.",
    ]


def test_a_bot_conversation_with_a_recorded_outcome_reports_it(services) -> None:  # type: ignore[no-untyped-def]
    record = {
        "id": "bot-1",
        "channel": "bot",
        "source_system": "test",
        "outcome": "completed",
        "turns": [
            {
                "speaker": "customer",
                "text": "I want to transfer money to my savings account.",
            },
            {"speaker": "bot", "text": "How much would you like to transfer?"},
            {"speaker": "customer", "text": "Two hundred dollars please."},
            {"speaker": "bot", "text": "The transfer has been processed."},
        ],
    }
    services.ingestor.ingest_interactions([validate(Interaction, record, "test", 1)])
    summary = services.summarizer.summarize("bot-1")

    outcome = [line.text for line in summary.field_lines(Field.OUTCOME)]
    assert "The transfer has been processed." in outcome
    assert "Recorded outcome: completed" in outcome


def test_every_summary_passes_the_output_check_before_it_leaves(sample_services):
    for interaction_id in ("abcd-3592", "abcd-9489", "abcd-5798"):
        summary = sample_services.summarizer.summarize(interaction_id)

        assert summary.output_check == {"decision": "allow", "reasons": []}
        assert summary.lines


def test_a_summary_line_its_turn_does_not_support_withholds_the_summary(
    sample_services,
):
    from dataclasses import replace

    from cx_context.context.summaries import Field, SummaryLine

    stored = sample_services.catalog.interaction("abcd-3592")
    honest = sample_services.summarizer.summarize_stored(stored)
    invented = replace(
        honest,
        lines=[
            *honest.lines,
            SummaryLine(
                Field.ACTIONS, "agent", "A refund of $900 was approved today", [18]
            ),
        ],
    )

    checked = sample_services.summarizer.checked(invented, stored)

    assert checked.lines == []
    assert checked.output_check["decision"] != "allow"
    assert checked.output_check["reasons"]
