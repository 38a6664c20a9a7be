"""Re-identification from the pseudonym vault: exact, allowed to few, always logged."""

import json

import pytest
from sqlalchemy import text

from conftest import DIALOGUES, make_services, shared_file
from cx_context.context.reidentification import ReidentificationRefusedError
from cx_context.guardrails.vault import PseudonymRow, RestoreError
from cx_context.knowledge.adapters import read_interactions


def _originals(path):  # type: ignore[no-untyped-def]
    return {p.record.id: p.record for p in read_interactions(path) if p.record}


@pytest.mark.parametrize("source", ["bundled", "shared-sample"])
def test_redact_then_restore_gives_back_every_abcd_dialogue_exactly(services, source):
    path = DIALOGUES if source == "bundled" else shared_file("abcd/abcd_sample.json")
    originals = _originals(path)
    report = services.ingestor.ingest_interactions(read_interactions(path), path.name)
    assert report.ok

    for interaction_id, original in originals.items():
        stored = services.catalog.interaction(interaction_id)
        restored = services.reidentifier.restore(
            interaction_id, "risk", "complaint investigation"
        )

        assert [t.text for t in restored.turns] == [t.text for t in original.turns]
        assert restored.values_restored == sum(stored.pii_counts.values())
        lost = [t.text for t in stored.turns] != [t.text for t in original.turns]
        assert lost == bool(stored.pii_counts)
    assert sum(bool(services.catalog.interaction(i).pii_counts) for i in originals)


def test_only_admin_and_risk_may_restore_and_each_must_say_why(services):
    services.ingestor.ingest_interactions(read_interactions(DIALOGUES), "d.json")

    with pytest.raises(
        ReidentificationRefusedError, match="admin or risk; got 'agent'"
    ):
        services.reidentifier.restore("abcd-3592", "agent", "curious")
    with pytest.raises(ReidentificationRefusedError, match="stated reason"):
        services.reidentifier.restore("abcd-3592", "admin", "   ")
    assert list(services.risk_log.rows()) == []


def test_every_restore_is_in_the_risk_log_without_the_values(services):
    services.ingestor.ingest_interactions(read_interactions(DIALOGUES), "d.json")
    original = _originals(DIALOGUES)["abcd-3592"]

    restored = services.reidentifier.restore(
        "abcd-3592", "admin", "customer asked for their own transcript", "req-7"
    )

    [row] = list(services.risk_log.rows())
    assert row["event_id"] == restored.risk_event_id
    assert (row["category"], row["decision"]) == ("data_privacy", "allow")
    assert row["actor"] == {"role": "admin", "purpose": "reidentification"}
    assert row["request_id"] == "req-7"
    assert row["evidence"]["ids"] == ["abcd-3592"]
    assert row["evidence"]["counts"] == {"values_restored": restored.values_restored}
    logged = json.dumps(row, default=str)
    for identifier in original.customer_identifiers:
        assert identifier.value not in logged
    assert "transcript" not in logged  # the reason is kept as a hash only
    assert services.risk_log.verify().ok


def test_the_vault_keeps_values_only_sealed(services):
    services.ingestor.ingest_interactions(read_interactions(DIALOGUES), "d.json")
    original = _originals(DIALOGUES)["abcd-3592"]

    with services.engine.connect() as connection:
        dump = " ".join(
            str(v)
            for row in connection.execute(text("SELECT * FROM pseudonym_vault"))
            for v in row
        )
    assert dump
    for identifier in original.customer_identifiers:
        assert identifier.value.casefold() not in dump.casefold()


def test_a_changed_stored_text_is_refused_not_half_restored(services):
    services.ingestor.ingest_interactions(read_interactions(DIALOGUES), "d.json")
    with services.sessions.begin() as session:
        row = session.get(PseudonymRow, ("abcd-3592", 6))
        assert row is not None
    with services.engine.begin() as connection:
        stored = connection.execute(
            text("SELECT turns FROM interactions WHERE id = 'abcd-3592'")
        ).scalar_one()
        turns = json.loads(stored) if isinstance(stored, str) else stored
        turns[6]["text"] = "Account has been pulled up for somebody else."
        connection.execute(
            text("UPDATE interactions SET turns = :t WHERE id = 'abcd-3592'"),
            {"t": json.dumps(turns)},
        )

    with pytest.raises(RestoreError, match="changed since it was redacted"):
        services.reidentifier.restore("abcd-3592", "risk", "audit")


def test_an_interaction_ingested_without_a_vault_key_says_so(tmp_path):
    without = make_services(tmp_path / "data", vault_key=None)
    without.ingestor.ingest_interactions(read_interactions(DIALOGUES), "d.json")
    without.close()
    with_key = make_services(tmp_path / "data")

    with pytest.raises(RestoreError, match="ingested without a vault key"):
        with_key.reidentifier.restore("abcd-3592", "risk", "audit")
    with_key.close()
