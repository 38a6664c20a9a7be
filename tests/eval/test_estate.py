"""The realistic scorecard estate: public conversations through the real pipeline."""

import csv

import pytest
from sqlalchemy import select

from conftest import SHARED_DATA, shared_file
from cx_context.context.scorecard import ScorecardQuery
from cx_context.context.store import InteractionLinkRow
from cx_context.eval.estate import EstateBuilder
from cx_context.knowledge.database import InteractionRow
from cx_context.knowledge.vectorstore import Collection

pytestmark = pytest.mark.shared_data


def _contacts(builder: EstateBuilder) -> list[tuple[object, ...]]:
    return [
        (c.id, c.channel, c.started_at, c.intent, c.outcome, c.transferred_from)
        for c in builder.plan().contacts
    ]


def test_the_same_seed_plans_the_same_estate_and_another_seed_does_not():
    shared_file("evi-identity/records.en.csv")
    first = EstateBuilder(SHARED_DATA, customers=5, seed=3)
    assert _contacts(first) == _contacts(
        EstateBuilder(SHARED_DATA, customers=5, seed=3)
    )
    assert _contacts(first) != _contacts(
        EstateBuilder(SHARED_DATA, customers=5, seed=4)
    )


def test_a_small_estate_lands_redacted_linked_and_scored(services):
    shared_file("evi-identity/records.en.csv")
    builder = EstateBuilder(SHARED_DATA, customers=4, seed=5)
    summary = builder.build(services, lambda message: None)
    assert summary["ingest"]["rejected"] == 0
    assert summary["ingest"]["added"] == summary["contacts"]
    assert summary["events"]["applied"] > 0

    with services.sessions() as session:
        rows = list(session.scalars(select(InteractionRow)))
        links = {
            link.interaction_id: link
            for link in session.scalars(select(InteractionLinkRow))
        }
    assert len(rows) == summary["contacts"]
    voice = [row for row in rows if row.channel == "voice"]
    assert len(voice) == summary["voice_calls"]
    for row in voice:
        if row.id in links:
            assert links[row.id].linked_by.startswith("identity:")

    # No customer's email or full name is stored in a turn or in a vector chunk.
    evi = shared_file("evi-identity/records.en.csv")
    with evi.open(encoding="utf-8", newline="") as handle:
        profiles = list(csv.DictReader(handle))
    ids = {c["id"] for c in builder.plan().customers}
    values = [
        value.lower()
        for p in profiles
        if f"estate-{p['scenario_id'].replace('.', '-').lower()}" in ids
        for value in (p["email"], p["name"])
    ]
    assert len(values) == 8
    stored = " ".join(t["text"] for row in rows for t in row.turns).lower()
    chunks = " ".join(h.text for h in services.store.all(Collection.INTERACTIONS))
    for value in values:
        assert value not in stored
        assert value not in chunks.lower()

    card = services.scorecard().compute(ScorecardQuery.parse())
    assert card["counts"]["contacts"] == summary["contacts"]
    assert card["counts"]["journeys"] >= summary["customers"]
    measures = {m["key"]: m for m in card["measures"]}
    assert measures["journey_completion"]["status"] == "ok"
    assert measures["data_latency"]["n"] == summary["events"]["applied"]
    # The sources carry no sentiment labels: said, not shown as zero.
    assert measures["positive_sentiment"]["status"] == "not_enough_data"
