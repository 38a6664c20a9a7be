"""A customer's contacts in time order, with handoffs and repeat contacts."""

from datetime import UTC, datetime, timedelta

from cx_context.context.timeline import build_timeline
from cx_context.knowledge.catalog import StoredInteraction, StoredTurn

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _contact(
    interaction_id: str,
    channel: str,
    hours: float,
    turns: list[tuple[str, str]],
    intent: str | None = "refund",
) -> StoredInteraction:
    return StoredInteraction(
        id=interaction_id,
        channel=channel,
        source_system="test",
        started_at=START + timedelta(hours=hours),
        ended_at=START + timedelta(hours=hours, minutes=10),
        intent=intent,
        outcome=None,
        turns=[
            StoredTurn(number, speaker, text)
            for number, (speaker, text) in enumerate(turns, start=1)
        ],
        pii_counts={},
        content_hash="x",
    )


BOT_THEN_AGENT = _contact(
    "bot-1",
    "bot",
    0,
    [
        ("customer", "where is my refund"),
        ("bot", "I can help with refunds."),
        ("agent", "Hi, I have taken over from the assistant."),
    ],
)
VOICE_TRANSFER = _contact(
    "call-1",
    "voice",
    2,
    [
        ("customer", "I am calling about my refund again"),
        ("agent", "I am transferring you to the billing team now."),
    ],
)
LATER_OTHER_INTENT = _contact(
    "mail-1", "email", 30, [("customer", "please update my address")], "address"
)
MUCH_LATER = _contact("chat-9", "chat", 24 * 20, [("customer", "refund please")])


def test_contacts_come_in_time_order_whatever_order_they_are_given():
    timeline = build_timeline(
        "p-1", [MUCH_LATER, VOICE_TRANSFER, BOT_THEN_AGENT, LATER_OTHER_INTENT], []
    )

    assert [e.interaction_id for e in timeline.entries] == [
        "bot-1",
        "call-1",
        "mail-1",
        "chat-9",
    ]


def test_bot_to_agent_transfers_and_channel_switches_are_found():
    timeline = build_timeline("p-1", [BOT_THEN_AGENT, VOICE_TRANSFER], [])

    found = {
        (h.kind, h.from_interaction, h.to_interaction, h.turn)
        for h in timeline.handoffs
    }
    assert found == {
        ("bot_to_agent", "bot-1", "bot-1", 3),
        ("agent_transfer", "call-1", "call-1", 2),
        ("channel_switch", "bot-1", "call-1", None),
    }


def test_a_contact_about_the_same_intent_within_the_window_is_a_repeat():
    timeline = build_timeline(
        "p-1",
        [BOT_THEN_AGENT, VOICE_TRANSFER, LATER_OTHER_INTENT, MUCH_LATER],
        [],
        repeat_window=timedelta(days=7),
    )

    repeats = {e.interaction_id: e.repeat_of for e in timeline.entries}
    assert repeats == {
        "bot-1": None,
        "call-1": "bot-1",
        "mail-1": None,  # another intent
        "chat-9": None,  # outside the window
    }
    assert timeline.repeat_contacts == 1
    assert timeline.as_dict()["repeat_window_days"] == 7.0


def test_a_wider_window_counts_the_late_contact_as_a_repeat():
    timeline = build_timeline(
        "p-1", [BOT_THEN_AGENT, MUCH_LATER], [], repeat_window=timedelta(days=30)
    )

    assert timeline.entries[-1].repeat_of == "bot-1"


def test_an_offer_to_escalate_is_not_a_handoff_but_an_escalation_is():
    offered = _contact(
        "chat-2",
        "chat",
        0,
        [
            ("customer", "I want to return these jeans"),
            ("agent", "I can escalate to my manager if you'd like"),
            ("customer", "yes please"),
            ("agent", "I have escalated this to my manager."),
        ],
    )

    timeline = build_timeline("p-1", [offered], [])

    assert [(h.kind, h.turn) for h in timeline.handoffs] == [("agent_transfer", 4)]
