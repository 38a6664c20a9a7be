"""CloudEvents applied to the customer record: once each, or rejected with a reason."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cx_context.context.records import Purpose
from cx_context.context.store import EventRow

NOW = datetime.now(UTC)


def _event(
    event_id: str, kind: str, data: object, **extra: object
) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "crm",
        "type": kind,
        # Five minutes ago, taken when the event is made: suites run long.
        "time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "data": data,
        **extra,
    }


@pytest.fixture
def store(record_services):  # type: ignore[no-untyped-def]
    report = record_services.customers.upsert_many(
        [
            {
                "id": "crm-7",
                "source_system": "crm",
                "name": "Dana Whitfield",
                "identifiers": [{"kind": "email", "value": "dana@example.com"}],
            }
        ]
    )
    assert not report.problems
    return record_services


def _case(status: str = "open", **extra: object) -> dict[str, object]:
    return {
        "id": "case-7",
        "status": status,
        "intent": "refund",
        "opened_at": (NOW - timedelta(days=1)).isoformat(),
        **extra,
    }


def test_events_apply_once_and_a_repeated_id_changes_nothing(store):
    events = store.events
    opened = _event("e-1", "cx.case.opened", {"party_id": "crm-7", "case": _case()})

    first = events.apply(opened)
    again = events.apply(opened)

    assert first.status == "applied"
    assert 250 < (first.lag_seconds or 0) < 400  # five minutes late
    assert (again.status, again.reason) == ("duplicate", "already applied")
    assert [c.id for c in store.customers.get("crm-7").open_cases] == ["case-7"]


def test_a_case_update_and_a_consent_change_reach_the_record(store):
    outcomes = store.events.apply_many(
        [
            _event("e-1", "cx.case.opened", {"party_id": "crm-7", "case": _case()}),
            _event(
                "e-2",
                "cx.case.updated",
                {
                    "party_id": "crm-7",
                    "case": _case(
                        "resolved", closed_at=(NOW - timedelta(hours=1)).isoformat()
                    ),
                },
            ),
            _event(
                "e-3",
                "cx.consent.changed",
                {
                    "party_id": "crm-7",
                    "consent": {
                        "purpose": "ai_assistance",
                        "status": "withdrawn",
                        "decided_at": (NOW - timedelta(minutes=10)).isoformat(),
                    },
                },
            ),
        ]
    )

    assert [o.status for o in outcomes] == ["applied"] * 3
    view = store.customers.get("crm-7")
    assert view.open_cases == []
    assert not view.allows(Purpose.AI_ASSISTANCE)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            _event("bad-1", "cx.case.opened", {"party_id": "ghost", "case": _case()}),
            "unknown party 'ghost'",
        ),
        (
            _event("bad-2", "cx.case.updated", {"party_id": "crm-7", "case": _case()}),
            "case 'case-7' does not exist",
        ),
        (
            _event("bad-3", "cx.case.opened", {"party_id": "crm-7"}),
            "data: ",
        ),
        (
            _event("bad-4", "cx.unknown", {"party_id": "crm-7"}),
            "unknown event type 'cx.unknown'",
        ),
        (
            _event(
                "bad-5",
                "cx.case.opened",
                {"party_id": "crm-7", "case": _case()},
                time=(NOW + timedelta(days=1)).isoformat(),
            ),
            "event time is in the future",
        ),
        (
            _event(
                "bad-6",
                "cx.identifier.seen",
                {"party_id": "crm-7", "identifier": {"kind": "phone", "value": "12"}},
            ),
            "phone number",
        ),
        (
            {"id": "bad-7", "type": "cx.case.opened", "data": {}},
            "missing required attribute(s): source, time",
        ),
    ],
)
def test_a_bad_event_is_recorded_as_rejected_with_its_reason(store, event, reason):
    outcome = store.events.apply(event)

    assert outcome.status == "rejected"
    assert reason in (outcome.reason or "")
    assert store.customers.get("crm-7").open_cases == []
    with store.sessions() as session:
        row = session.get(EventRow, event["id"])
    if "missing" not in reason:  # an event without its attributes cannot be kept
        assert row is not None and row.status == "rejected"


def test_the_lag_of_every_event_is_kept_for_the_data_latency_measure(store):
    store.events.apply(
        _event("e-9", "cx.case.opened", {"party_id": "crm-7", "case": _case()})
    )
    with store.sessions() as session:
        rows = list(session.scalars(select(EventRow)))
    assert [(r.id, r.status) for r in rows] == [("e-9", "applied")]
    assert rows[0].lag_seconds is not None and rows[0].lag_seconds > 0


def test_a_rejected_event_can_be_sent_again_once_it_can_apply(store):
    early = _event("e-5", "cx.case.opened", {"party_id": "crm-8", "case": _case()})

    first = store.events.apply(early)
    store.customers.upsert_many([{"id": "crm-8", "source_system": "crm"}])
    second = store.events.apply(early)
    third = store.events.apply(early)

    assert (first.status, first.reason) == ("rejected", "unknown party 'crm-8'")
    assert second.status == "applied"
    assert third.status == "duplicate"
    assert [c.id for c in store.customers.get("crm-8").open_cases] == ["case-7"]
    with store.sessions() as session:
        assert session.get(EventRow, "e-5").status == "applied"


def test_an_identifier_of_another_customer_is_not_taken_over_by_an_event(store):
    store.customers.upsert_many(
        [
            {
                "id": "crm-8",
                "source_system": "crm",
                "identifiers": [{"kind": "email", "value": "sam@example.com"}],
            }
        ]
    )

    outcome = store.events.apply(
        _event(
            "e-6",
            "cx.identifier.seen",
            {
                "party_id": "crm-7",
                "identifier": {"kind": "email", "value": "SAM@example.com"},
            },
        )
    )

    assert outcome.status == "rejected"
    assert "held by customer crm-8" in (outcome.reason or "")
    assert store.customers.find("email", "sam@example.com") == ["crm-8"]


def _ingest_chat(services, interaction_id: str = "chat-7") -> None:  # type: ignore[no-untyped-def]
    from cx_context.knowledge.adapters.base import validate
    from cx_context.knowledge.records import Interaction

    chat = {
        "id": interaction_id,
        "channel": "chat",
        "source_system": "web",
        "started_at": (NOW - timedelta(hours=1)).isoformat(),
        "turns": [{"speaker": "customer", "text": "Where is my refund?"}],
    }
    report = services.ingestor.ingest_interactions(
        [validate(Interaction, chat, "test", 1)], "test"
    )
    assert report.ok, report.to_dict()


@pytest.mark.parametrize(
    ("ended_at", "reason"),
    [
        ("2099-01-01T00:00:00Z", "data.ended_at is in the future"),
        ((NOW - timedelta(days=2)).isoformat(), "data.ended_at ("),
    ],
    ids=["in-the-future", "before-the-start"],
)
def test_an_interaction_end_in_the_future_or_before_its_start_is_rejected(
    store, ended_at, reason
):
    _ingest_chat(store)

    outcome = store.events.apply(
        _event(
            "e-end",
            "cx.interaction.ended",
            {"party_id": "crm-7", "interaction_id": "chat-7", "ended_at": ended_at},
        )
    )

    assert outcome.status == "rejected"
    assert reason in (outcome.reason or "")
    assert store.customers.get("crm-7").interaction_ids == []


def test_an_interaction_end_within_the_clock_skew_is_applied(store):
    _ingest_chat(store)
    ended = datetime.now(UTC) + timedelta(minutes=2)

    outcome = store.events.apply(
        _event(
            "e-end",
            "cx.interaction.ended",
            {
                "party_id": "crm-7",
                "interaction_id": "chat-7",
                "ended_at": ended.isoformat(),
            },
        )
    )

    assert outcome.status == "applied", outcome.reason
    assert store.customers.get("crm-7").interaction_ids == ["chat-7"]


def test_a_rejected_event_is_logged_without_the_ids_its_caller_sent(store, caplog):
    name = "Cornelius Wobblebottom"
    with caplog.at_level("INFO", logger="cx_context.context.events"):
        outcome = store.events.apply(
            _event("e2", "cx.case.opened", {"party_id": name, "case": _case()})
        )

    assert outcome.status == "rejected"
    assert name in (outcome.reason or "")  # the caller is told what was wrong
    logged = [r.getMessage() for r in caplog.records]
    digest = hashlib.sha256(b"e2").hexdigest()[:16]
    assert any(digest in line and "rejected" in line for line in logged), logged
    assert not any("Cornelius" in line for line in logged), logged


def test_an_event_id_or_type_holding_pii_stays_out_of_the_log(store, caplog):
    card, email = "4111 1111 1111 1111", "leak.me@example.org"
    with caplog.at_level("INFO", logger="cx_context.context.events"):
        outcome = store.events.apply(_event(f"card {card}", email, {}))

    assert outcome.status == "rejected"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "rejected" in logged and "unknown type" in logged
    assert card not in logged and email not in logged


def test_an_attribute_longer_than_the_events_table_keeps_is_rejected(store):
    outcome = store.events.apply(_event("e" * 201, "cx.case.opened", {}))

    assert outcome.status == "rejected"
    assert outcome.reason == "id is 201 characters; the limit is 200"
