"""The continuity scorecard on a small estate built by hand, every value known.

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
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cx_context.context.scorecard import ScorecardQuery, ScorecardQueryError
from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.records import Interaction

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


@pytest.fixture
def estate(record_services):  # type: ignore[no-untyped-def]
    services = record_services
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


def _card(services: Any, **filters: str) -> dict[str, Any]:
    scorecard = services.scorecard()
    scorecard._now = NOW  # the recontact windows are judged as of this day
    return scorecard.compute(ScorecardQuery.parse(**filters))


def _measures(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in card["measures"]}


def test_every_measure_has_its_known_value(estate):
    card = _card(estate)
    m = _measures(card)
    assert card["counts"] == {"contacts": 8, "journeys": 5, "handoffs": 3, "events": 5}

    # J1, J2, J5 resolved; J3 unresolved; J4 has no outcome and no case.
    completion = m["journey_completion"]
    assert (completion["value"], completion["n"]) == (0.75, 4)
    assert completion["details"] == {"resolved": 3, "unresolved": 1, "journeys": 5}
    assert completion["excluded"] == {
        "contacts with no linked customer": 1,
        "no outcome and no case": 1,
    }

    # Resolved contacts c1, c2, c3, c8 (c7 has no customer); only c1 recontacted.
    recontact = m["avoidable_recontact"]
    assert (recontact["value"], recontact["n"]) == (0.25, 4)
    assert recontact["details"]["recontacted"] == 1
    assert recontact["excluded"]["resolved contacts with no customer or intent"] == 1

    # 10 min, 45 min and 73.5 h: the median, and p90 between the last two.
    ttr = m["time_to_resolution"]
    assert (ttr["value"], ttr["n"]) == (0.75, 3)
    assert ttr["details"]["p90_hours"] == pytest.approx(0.75 + 0.8 * (73.5 - 0.75))

    transfers = m["transfer_failure"]
    assert (transfers["value"], transfers["n"]) == (0.6667, 3)
    assert transfers["details"] == {
        "handoffs": 3,
        "failed": 2,
        "repeated_identification": 1,
        "repeated_story": 1,
        "dropped": 1,
        "by_kind": {"announced_transfer": 1, "bot_to_agent": 1, "linked_transfer": 1},
    }

    # Lags of 600, 3600, 60 and 30 s against a bound of 300 s; e2 out of order.
    latency = m["data_latency"]
    assert (latency["value"], latency["n"]) == (0.5, 4)
    assert latency["details"]["late"] == 2
    assert latency["details"]["out_of_order"] == 1
    assert latency["details"]["median_lag_seconds"] == pytest.approx(330, abs=5)
    assert latency["excluded"] == {"event time after arrival": 1}

    # c6 linked at 0.9 and c7 unlinked, of eight contacts.
    identity = m["identity_match_confidence"]
    assert (identity["value"], identity["n"]) == (0.25, 8)
    assert identity["details"]["distribution"] == {
        "unlinked": 1,
        "under 0.5": 0,
        "0.5 to 0.9": 0,
        "0.9 to 0.993": 1,
        "0.993 or more": 6,
    }

    score = m["satisfaction_score"]
    assert (score["value"], score["n"]) == (round(11 / 3, 4), 3)
    assert score["details"]["satisfied_share"] == round(2 / 3, 4)
    sentiment = m["positive_sentiment"]
    assert (sentiment["value"], sentiment["n"]) == (round(1 / 3, 4), 3)
    assert sentiment["details"] == {"positive": 1, "neutral": 1, "negative": 1}

    for measure in card["measures"]:
        assert measure["status"] == "ok" and measure["method"]


def test_breakdowns_by_intent_channel_and_month(estate):
    card = _card(estate)
    refund = card["by_intent"]["billing/refund"]
    assert refund["journey_completion"] == {"value": 1.0, "n": 2}
    assert refund["avoidable_recontact"] == {"value": round(1 / 3, 4), "n": 3}
    assert card["by_channel"]["bot"]["transfer_failure"] == {"value": 1.0, "n": 1}
    assert card["by_channel"]["voice"]["transfer_failure"]["value"] is None

    points = {p["period"]: p["values"] for p in card["trend"]["points"]}
    assert list(points) == ["2026-10", "2026-11"]
    assert points["2026-10"]["journey_completion"] == {"value": round(2 / 3, 4), "n": 3}
    assert points["2026-11"]["journey_completion"] == {"value": 1.0, "n": 1}
    assert points["2026-11"]["transfer_failure"]["value"] is None


def test_a_period_with_no_data_says_so_for_every_measure(estate):
    card = _card(estate, period="2025-01")
    assert card["notes"] == ["no contact started in period 2025-01"]
    for measure in card["measures"]:
        assert measure["status"] == "not_enough_data"
        assert measure["value"] is None and measure["n"] == 0
        assert measure["missing"].startswith("not enough data: ")
    assert card["trend"]["points"] == []


def test_an_intent_never_seen_is_not_enough_data_not_zero(estate):
    card = _card(estate, intent="warranty/claim")
    assert card["notes"] == ["no contact has intent 'warranty/claim'"]
    assert {m["status"] for m in card["measures"]} == {"not_enough_data"}
    # Events carry no intent: with an intent filter they count only for the
    # customers of contacts in scope, and here there are none.
    assert _measures(card)["data_latency"]["missing"] == (
        "not enough data: no event in scope"
    )


def test_interactions_without_an_outcome_are_left_out_and_counted(estate):
    m = _measures(_card(estate, intent="shipping/address"))
    completion = m["journey_completion"]
    assert completion["status"] == "not_enough_data"
    assert completion["excluded"] == {"no outcome and no case": 1}
    assert m["time_to_resolution"]["value"] is None
    # The same contact still counts where its outcome is not needed.
    assert m["transfer_failure"]["value"] == 1.0
    assert m["transfer_failure"]["details"]["dropped"] == 1


def test_a_period_keeps_october_and_counts_undated_nothing(estate):
    m = _measures(_card(estate, period="2026-10-01/2026-10-31"))
    assert m["journey_completion"]["value"] == round(2 / 3, 4)
    assert m["identity_match_confidence"]["value"] == round(2 / 7, 4)
    # Every event was made this week, none in October.
    assert m["data_latency"]["status"] == "not_enough_data"


@pytest.mark.parametrize(
    ("filters", "parameter"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "last week"}, "period"),
        ({"period": "2026-10-31/2026-10-01"}, "period"),
        ({"bucket": "day"}, "bucket"),
    ],
)
def test_bad_filters_name_the_parameter(filters, parameter):
    with pytest.raises(ScorecardQueryError) as caught:
        ScorecardQuery.parse(**filters)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}: ")
