"""A small estate built by hand for the scorecard, where every measure's value is known.

Three customers, eight contacts over October and November 2026:

- J1 alice, billing/refund: chat c1 resolved (score 4, positive), then email c2
  three days later, resolved (score 2, negative): one recontact within the
  7-day window; resolved 73.5 h after the first contact.
- J2 bob, orders/status: bot c3, which asks for his email, transfers him to an
  agent who asks for his name and email again, and he repeats his question:
  one handoff that repeated identification and the story. Completed in 10 min.
- J3 carol, account/access: chat c4 ends "transferred"; voice c5 continues it
  (transferred_from): one handoff that went well; unresolved.
- J4 carol, shipping/address: social c6 with no outcome (state unknown), whose
  agent transfers her and nobody answers: one dropped handoff; linked with
  confidence 0.9 only.
- c7: a web form nobody could link to a customer, resolved.
- J5 alice, billing/refund again in November (c8, 45 min, score 5): a new
  journey, since J1 was resolved more than a window before.

Five events: alice's second was made before her first but arrives after it
(out of order); the last is dated in the future and is rejected.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.records import Interaction
from cx_context.service.wiring import Services

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _at(day: str, clock: str) -> str:
    return f"2026-{day}T{clock}:00+00:00"


def _contact(
    contact_id: str,
    channel: str,
    start: str,
    end: str,
    intent: str | None,
    turns: list[tuple[str, str]],
    email: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": contact_id,
        "channel": channel,
        "source_system": "hand",
        "started_at": start,
        "ended_at": end,
        "intent": intent,
        "customer_identifiers": [{"kind": "email", "value": email}] if email else [],
        "turns": [{"speaker": s, "text": t} for s, t in turns],
        **extra,
    }


ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
CONTACTS = [
    _contact(
        "c1",
        "chat",
        _at("10-05", "09:00"),
        _at("10-05", "09:20"),
        "billing/refund",
        [
            ("customer", "Hi, I want a refund for the jacket I returned last week."),
            ("agent", "Sure, can I have your email address?"),
            ("customer", f"It is {ALICE}"),
            ("agent", "Thanks, the refund is processed."),
        ],
        ALICE,
        outcome="resolved",
        satisfaction_score=4,
        sentiment="positive",
    ),
    _contact(
        "c2",
        "email",
        _at("10-08", "10:00"),
        _at("10-08", "10:30"),
        "billing/refund",
        [
            ("customer", "The refund still does not show on my card statement."),
            ("agent", "It was sent on Monday; it shows within five working days."),
        ],
        ALICE,
        outcome="resolved",
        satisfaction_score=2,
        sentiment="negative",
    ),
    _contact(
        "c3",
        "bot",
        _at("10-12", "14:00"),
        _at("10-12", "14:10"),
        "orders/status",
        [
            ("customer", "Where is my order? It has not arrived yet after two weeks."),
            ("bot", "Please give me your email address so I can find the order."),
            ("customer", BOB),
            ("bot", "I'm transferring you to an agent now."),
            ("agent", "Hello, before we start can I have your full name and email?"),
            ("customer", f"Bob Stone, {BOB}"),
            ("customer", "Where is my order? It has not arrived after two weeks."),
            ("agent", "It ships tomorrow, sorry for the wait."),
        ],
        BOB,
        outcome="completed",
        sentiment="neutral",
    ),
    _contact(
        "c4",
        "chat",
        _at("10-20", "08:00"),
        _at("10-20", "08:30"),
        "account/access",
        [
            ("customer", "I cannot log in to my account since yesterday."),
            ("agent", "Let me check that for you."),
            ("agent", "I will transfer you to our security team now."),
        ],
        CAROL,
        outcome="transferred",
    ),
    _contact(
        "c5",
        "voice",
        _at("10-20", "09:00"),
        _at("10-20", "09:15"),
        "account/access",
        [
            ("agent", "Hi, security team here; I can see the note and reset access."),
            ("customer", "thanks that works"),
        ],
        transferred_from="c4",
    ),
    _contact(
        "c6",
        "social",
        _at("10-25", "12:00"),
        _at("10-25", "12:30"),
        "shipping/address",
        [
            ("customer", "Please change the delivery address on my order to my flat."),
            ("agent", "I'm transferring you to the delivery team."),
            ("customer", "hello? anyone there?"),
        ],
    ),
    _contact(
        "c7",
        "web_form",
        _at("10-26", "16:00"),
        _at("10-26", "16:05"),
        "billing/refund",
        [("customer", "Refund request for a cancelled booking.")],
        outcome="resolved",
    ),
    _contact(
        "c8",
        "chat",
        _at("11-03", "10:00"),
        _at("11-03", "10:45"),
        "billing/refund",
        [
            ("customer", "I need a refund for a second jacket that was too small."),
            ("agent", "Done, you will see it in a few days."),
        ],
        ALICE,
        outcome="resolved",
        satisfaction_score=5,
    ),
]


def _event(event_id: str, party: str, seconds_ago: float) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": "crm",
        "type": "cx.consent.changed",
        "time": (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat(),
        "data": {
            "party_id": party,
            "consent": {
                "purpose": "analytics",
                "status": "granted",
                "decided_at": "2026-10-01T00:00:00+00:00",
            },
        },
    }


def build_hand_estate(services: Services) -> Services:
    """Store the customers, contacts and events above through the real pipeline."""
    report = services.customers.upsert_many(
        [
            {
                "id": party,
                "source_system": "crm",
                "identifiers": [{"kind": "email", "value": email}],
            }
            for party, email in (("alice", ALICE), ("bob", BOB), ("carol", CAROL))
        ]
    )
    assert not report.problems
    items = [validate(Interaction, c, "hand", i) for i, c in enumerate(CONTACTS, 1)]
    assert services.ingestor.ingest_interactions(items, "hand").ok
    services.link_interactions([p.record for p in items if p.record])
    services.customers.link_interaction("c5", "carol", 0.999, "identity:weighted")
    services.customers.link_interaction("c6", "carol", 0.9, "identity:weighted")
    # Alice's second event was made before her first but arrives after it; the
    # last one is dated in the future (a skewed clock) and is rejected.
    outcomes = services.events.apply_many(
        [
            _event("e1", "alice", 600),
            _event("e2", "alice", 3600),
            _event("e3", "bob", 60),
            _event("e4", "bob", 30),
            _event("e5", "bob", -3600),
        ]
    )
    assert [o.status for o in outcomes] == ["applied"] * 4 + ["rejected"]
    return services
