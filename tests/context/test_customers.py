"""The unified customer record on SQLite and on PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from cx_context.context.errors import ConflictError, NotFoundError
from cx_context.context.records import Purpose
from cx_context.context.store import IdentifierRow, PartyRow
from cx_context.guardrails.errors import VaultKeyError
from cx_context.guardrails.sealing import Sealer
from cx_context.service.migrate import current_revision

NOW = datetime.now(UTC)


def customer(party_id: str = "crm-1", **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": party_id,
        "source_system": "crm",
        "name": "Dana Whitfield",
        "postcode": "2009",
        "date_of_birth": "1984-03-02",
        "identifiers": [
            {"kind": "email", "value": "Dana.Whitfield@Example.com"},
            {"kind": "phone", "value": "0412 555 019", "source_system": "ivr"},
        ],
        "cases": [
            {
                "id": f"{party_id}-case-1",
                "status": "open",
                "intent": "refund",
                "next_action": "Call Dana Whitfield back on 0412 555 019",
                "owning_channel": "chat",
                "opened_at": (NOW - timedelta(days=2)).isoformat(),
            }
        ],
        "consents": [
            {
                "purpose": "marketing",
                "status": "granted",
                "decided_at": (NOW - timedelta(days=30)).isoformat(),
            }
        ],
        "risk_flags": [
            {
                "id": f"{party_id}-flag-1",
                "kind": "vulnerable_customer",
                "severity": "high",
                "raised_at": (NOW - timedelta(days=1)).isoformat(),
            }
        ],
    }
    record.update(extra)
    return record


def test_upsert_stores_a_customer_that_reads_back_masked(record_services):
    report = record_services.customers.upsert_many([customer()])
    assert report.as_dict()["stored"] == 1, report.problems

    view = record_services.customers.get("crm-1")
    assert view.name_masked == "D. W."
    assert {i.kind: i.masked for i in view.identifiers} == {
        "email": "d***@example.com",
        "phone": "***019",
    }
    assert [c.id for c in view.open_cases] == ["crm-1-case-1"]
    assert view.risk_flags[0].kind == "vulnerable_customer"
    assert view.allows(Purpose.MARKETING) and not view.allows(Purpose.ANALYTICS)


def test_identifiers_and_free_text_are_never_stored_in_the_clear(record_services):
    record_services.customers.upsert_many([customer()])

    with record_services.engine.connect() as connection:
        dump = " ".join(
            str(value)
            for table in ("parties", "identifiers", "cases")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    for value in ("Whitfield", "Dana", "example.com", "555 019", "555019", "1984"):
        assert value not in dump
    assert "Call <PERSON_1> back on <PHONE_NUMBER_1>" in dump


def test_identifiers_match_whatever_way_they_are_written(record_services):
    record_services.customers.upsert_many([customer()])
    store = record_services.customers

    assert store.find("email", "  dana.whitfield@example.COM") == ["crm-1"]
    assert store.find("phone", "+61 412 555 019") == ["crm-1"]
    assert store.find("phone", "0412555019") == ["crm-1"]
    assert store.find("phone", "0412 555 018") == []


def test_bad_records_are_reported_by_position_and_the_good_ones_land(record_services):
    future = (NOW + timedelta(days=3)).date().isoformat()
    report = record_services.customers.upsert_many(
        [
            customer("crm-1"),
            customer("crm-2", identifiers=[{"kind": "fax", "value": "123"}]),
            customer("crm-3", identifiers=[{"kind": "phone", "value": "call me"}]),
            customer("crm-4", date_of_birth=future),
            customer("crm-5"),
        ]
    ).as_dict()

    assert report["ids"] == ["crm-1", "crm-5"]
    problems = {p["position"]: p["error"] for p in report["problems"]}
    assert set(problems) == {1, 2, 3}
    assert "fax" in problems[1] and "email" in problems[1]
    assert "phone" in problems[2] and "call me" not in problems[2]
    assert "future" in problems[3]
    for rejected in ("crm-2", "crm-3", "crm-4"):
        assert not record_services.customers.exists(rejected)


def test_upserting_twice_changes_nothing(record_services):
    store = record_services.customers
    store.upsert_many([customer()])
    store.upsert_many([customer()])

    view = store.get("crm-1")
    assert len(view.identifiers) == 2
    assert len(view.cases) == 1
    assert len([c for c in view.consents if c.purpose == "marketing"]) == 1


def test_a_case_cannot_move_to_another_customer_by_upsert(record_services):
    store = record_services.customers
    store.upsert_many([customer("crm-1")])
    report = store.upsert_many(
        [customer("crm-2", cases=customer("crm-1")["cases"])]
    ).as_dict()

    assert report["stored"] == 0
    assert "belongs to customer crm-1" in report["problems"][0]["error"]
    assert not store.exists("crm-2")


def test_merge_moves_everything_and_undo_puts_it_back(record_services):
    store = record_services.customers
    other = customer(
        "web-7",
        identifiers=[{"kind": "username", "value": "dwhit"}],
        cases=[],
        risk_flags=[],
        consents=[],
    )
    store.upsert_many([customer("crm-1"), other])

    merge_id = store.merge("crm-1", "web-7", decided_by="agent:42", confidence=0.97)
    assert store.get("web-7").id == "crm-1"
    assert store.find("username", "dwhit") == ["crm-1"]
    assert store.get("crm-1").merged_from == ["web-7"]
    with pytest.raises(ConflictError, match="already merged"):
        store.merge("crm-1", "web-7", decided_by="agent:42", confidence=0.9)

    store.unmerge(merge_id, undone_by="agent:42")
    assert store.get("web-7").id == "web-7"
    assert store.find("username", "dwhit") == ["web-7"]
    assert len(store.get("crm-1").identifiers) == 2
    with pytest.raises(ConflictError, match="already undone"):
        store.unmerge(merge_id, undone_by="agent:42")


def test_merging_unknown_or_same_customer_is_refused(record_services):
    store = record_services.customers
    store.upsert_many([customer("crm-1")])
    with pytest.raises(NotFoundError, match="nope"):
        store.merge("crm-1", "nope", decided_by="x", confidence=1.0)
    with pytest.raises(ConflictError, match="into itself"):
        store.merge("crm-1", "crm-1", decided_by="x", confidence=1.0)


def test_the_schema_is_made_by_migrations(record_services):
    record_services.customers.upsert_many([customer()])
    assert current_revision(record_services.engine) is not None
    with record_services.sessions() as session:
        assert session.scalar(select(PartyRow.id)) == "crm-1"
        assert session.scalar(select(IdentifierRow.kind).limit(1)) is not None


def test_a_wrong_vault_key_is_a_clear_error(record_services):
    record_services.customers.upsert_many([customer()])
    with record_services.sessions() as session:
        sealed = session.scalar(select(IdentifierRow.sealed).limit(1))
    other = Sealer("b3RoZXIga2V5IG9mIGV4YWN0bHkgdGhpcnR5LXR3byE=")
    with pytest.raises(VaultKeyError, match="not the one"):
        other.unseal(sealed)
    with pytest.raises(VaultKeyError, match="32 bytes"):
        Sealer("c2hvcnQ=")


def test_a_different_vault_key_is_refused_before_anything_is_written(
    record_services, tmp_path
):
    from conftest import make_services
    from cx_context.guardrails.sealing import new_key

    assert not record_services.customers.upsert_many([customer()]).problems
    url = record_services.settings.sqlalchemy_url
    other = make_services(tmp_path / "other", database_url=url, vault_key=new_key())

    with pytest.raises(VaultKeyError, match="not the one this database was sealed"):
        other.customers.upsert_many([customer("crm-2")])
    other.close()
    assert record_services.customers.find("email", "dana.whitfield@example.com") == [
        "crm-1"
    ]
    assert not record_services.customers.exists("crm-2")


def test_customers_that_share_an_identifier_merge_and_undo_restores_both(
    record_services,
):
    store = record_services.customers
    shared = {"kind": "email", "value": "dana.whitfield@example.com"}
    store.upsert_many(
        [
            customer("c-1", identifiers=[shared]),
            customer(
                "c-3",
                identifiers=[
                    {"kind": "email", "value": "Dana.Whitfield@Example.com"},
                    {"kind": "username", "value": "dwhit"},
                ],
            ),
        ]
    )
    before = {party: store.get(party).model_dump() for party in ("c-1", "c-3")}

    merge_id = store.merge("c-1", "c-3", decided_by="agent-7", confidence=1.0)

    survivor = store.get("c-1")
    assert sorted(i.kind for i in survivor.identifiers) == ["email", "username"]
    assert store.find("email", "dana.whitfield@example.com") == ["c-1"]
    assert survivor.merged_from == ["c-3"]

    store.unmerge(merge_id, undone_by="agent-7")

    after = {party: store.get(party).model_dump() for party in ("c-1", "c-3")}
    assert after == before
    assert store.find("email", "dana.whitfield@example.com") == ["c-1", "c-3"]


def test_concurrent_upserts_of_one_new_customer_all_land(record_services):
    import threading

    store = record_services.customers
    problems: list[object] = []
    for attempt in range(3):
        record = customer(f"race-{attempt}")
        start = threading.Barrier(10)

        def upsert(
            record: dict[str, object] = record,
            start: threading.Barrier = start,
        ) -> None:
            start.wait()
            problems.extend(store.upsert_many([record]).problems)

        threads = [threading.Thread(target=upsert) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert problems == []
    view = store.get("race-0")
    assert len(view.identifiers) == 2 and len(view.cases) == 1


def test_identifiers_a_source_sends_replace_the_ones_it_sent_before(
    record_services,
):
    store = record_services.customers
    store.upsert_many([customer("c-50")])  # email from crm, phone from ivr

    store.upsert_many(
        [
            customer(
                "c-50",
                identifiers=[{"kind": "email", "value": "new.address@example.com"}],
            )
        ]
    )

    assert store.find("email", "dana.whitfield@example.com") == []
    assert store.find("email", "new.address@example.com") == ["c-50"]
    assert store.find("phone", "0412 555 019") == ["c-50"]  # another system's
    profile = next(p for p in store.profiles() if p.party_id == "c-50")
    assert profile.identifiers["email"] == ("new.address@example.com",)

    # A record without `identifiers` leaves them as they are; an empty list
    # clears the source's own.
    unnamed = customer("c-50")
    del unnamed["identifiers"]
    store.upsert_many([unnamed])
    assert store.find("email", "new.address@example.com") == ["c-50"]
    store.upsert_many([customer("c-50", identifiers=[])])
    assert [i.kind for i in store.get("c-50").identifiers] == ["phone"]


def test_a_write_to_the_survivor_keeps_the_identifiers_a_merge_brought(
    record_services,
):
    store = record_services.customers
    other = customer("web-7", identifiers=[{"kind": "username", "value": "dwhit"}])
    store.upsert_many([customer("crm-1"), other])
    merge_id = store.merge("crm-1", "web-7", decided_by="agent:42", confidence=1.0)

    store.upsert_many([customer("crm-1")])

    assert store.find("username", "dwhit") == ["crm-1"]
    store.unmerge(merge_id, undone_by="agent:42")
    assert store.find("username", "dwhit") == ["web-7"]
