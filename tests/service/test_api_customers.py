"""The customer-record routes of the HTTP API, over real stores and models."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from conftest import FLAGGED, WITHDRAWN, api_client

PROBLEM = "application/problem+json"
NOW = datetime.now(UTC)


@pytest.fixture
def client(record_services) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with api_client(record_services) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sample_client(customer_services) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with api_client(customer_services) as test_client:
        yield test_client


def _customer(party_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": party_id,
        "source_system": "crm",
        "name": "Dana Whitfield",
        "identifiers": [{"kind": "email", "value": f"{party_id}@example.com"}],
        **extra,
    }


def _case_opened(
    event_id: str, party_id: str, case: dict[str, object]
) -> dict[str, object]:
    """A `cx.case.opened` CloudEvent from the CRM, sent half a minute ago."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "crm",
        "type": "cx.case.opened",
        "time": (NOW - timedelta(seconds=30)).isoformat(),
        "data": {"party_id": party_id, "case": case},
    }


def test_a_mixed_customer_batch_stores_the_good_and_names_the_bad(client):
    response = client.post(
        "/v1/customers",
        json={
            "customers": [
                _customer("crm-1"),
                _customer("crm-2", identifiers=[{"kind": "fax", "value": "1"}]),
                _customer("crm-3", identifiers=[{"kind": "phone", "value": "12"}]),
                _customer("crm-4", date_of_birth="2999-01-01"),
            ]
        },
    )

    assert response.status_code == 207
    body = response.json()
    assert body["stored"] == ["crm-1"]
    problems = {p["position"]: p["error"] for p in body["rejected"]}
    assert set(problems) == {2, 3, 4}
    assert "identifiers.0.kind" in problems[2]
    assert "phone number" in problems[3] and "12" not in problems[3].split(":")[-1]
    assert "date_of_birth is in the future" in problems[4]
    assert client.get("/v1/customers/crm-2").status_code == 404


def test_a_stored_customer_reads_back_masked(client):
    client.post("/v1/customers", json={"customers": [_customer("crm-1")]})

    body = client.get("/v1/customers/crm-1").json()

    assert body["name_masked"] == "D. W."
    assert body["identifiers"][0]["masked"] == "c***@example.com"
    assert "Whitfield" not in str(body)


def test_events_apply_singly_and_in_batches_and_duplicates_change_nothing(client):
    client.post("/v1/customers", json={"customers": [_customer("crm-1")]})
    event = _case_opened(
        "ev-1",
        "crm-1",
        {
            "id": "case-1",
            "status": "open",
            "intent": "refund",
            "opened_at": (NOW - timedelta(hours=1)).isoformat(),
        },
    )

    single = client.post(
        "/v1/events",
        content=json.dumps(event),
        headers={"content-type": "application/cloudevents+json"},
    )
    batch = client.post(
        "/v1/events", json=[event, {**event, "id": "ev-2", "data": {"party_id": "x"}}]
    )

    assert single.status_code == 200
    assert single.json()["counts"] == {"applied": 1, "duplicate": 0, "rejected": 0}
    assert batch.status_code == 207
    assert [e["status"] for e in batch.json()["events"]] == ["duplicate", "rejected"]
    assert batch.json()["events"][1]["reason"] == "unknown party 'x'"
    timeline = client.get("/v1/customers/crm-1/timeline").json()
    assert [c["id"] for c in timeline["open_cases"]] == ["case-1"]


def test_events_that_all_fail_or_are_not_json_are_422_problems(client):
    bad = client.post("/v1/events", json={"id": "e", "type": "t"})
    not_json = client.post("/v1/events", content=b"{oops")

    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert "missing required attribute(s): source, time" in bad.json()["detail"]
    assert not_json.status_code == 422
    assert not_json.json()["errors"][0]["field"] == "body"


def test_context_for_an_agent_and_for_a_bot(sample_client):
    agent = sample_client.post(
        "/v1/context",
        json={"customer_id": FLAGGED, "interaction_id": "abcd-3592"},
    ).json()
    bot = sample_client.post(
        "/v1/context",
        json={
            "customer_id": FLAGGED,
            "purpose": "bot_answer",
            "question": "can I return these jeans?",
        },
    ).json()

    assert {i["kind"] for i in agent["items"]} >= {"risk_flag", "passage", "case"}
    assert all(i["kind"] != "risk_flag" for i in bot["items"])
    assert bot["excluded"]["risk_flag: not for purpose bot_answer"] == 1
    for item in agent["items"]:
        assert item["provenance"]["source_system"]
        assert item["provenance"]["record_id"]


def test_context_respects_withdrawn_consent_and_reports_bad_requests(sample_client):
    withdrawn = sample_client.post(
        "/v1/context", json={"customer_id": WITHDRAWN, "question": "refund status"}
    )
    missing = sample_client.post("/v1/context", json={"customer_id": "nobody"})
    bad_purpose = sample_client.post(
        "/v1/context", json={"customer_id": FLAGGED, "purpose": "marketing"}
    )

    assert withdrawn.status_code == 200
    assert all(i["kind"] != "transcript" for i in withdrawn.json()["items"])
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert bad_purpose.status_code == 422
    assert bad_purpose.json()["errors"][0]["field"] == "purpose"


def test_merges_can_be_undone_and_conflicting_ones_are_409(client):
    client.post(
        "/v1/customers", json={"customers": [_customer("crm-1"), _customer("crm-2")]}
    )

    merged = client.post(
        "/v1/merges",
        json={"survivor_id": "crm-1", "merged_id": "crm-2", "decided_by": "agent-7"},
    )
    again = client.post(
        "/v1/merges",
        json={"survivor_id": "crm-1", "merged_id": "crm-2", "decided_by": "agent-7"},
    )
    assert merged.status_code == 200
    assert again.status_code == 409
    assert client.get("/v1/customers/crm-2").json()["id"] == "crm-1"

    undo = client.post(
        f"/v1/merges/{merged.json()['merge_id']}/undo", json={"undone_by": "lead-1"}
    )
    assert undo.status_code == 200
    assert client.get("/v1/customers/crm-2").json()["id"] == "crm-2"


def test_identity_resolves_by_identifier_and_by_spoken_claims(sample_client):
    by_email = sample_client.post(
        "/v1/identity/resolve",
        json={"identifiers": [{"kind": "email", "value": "CMINH948@email.com"}]},
    ).json()
    by_claims = sample_client.post(
        "/v1/identity/resolve",
        json={"name": [["crystal minh", "crystal min"]], "postcode": "75227"},
    ).json()
    name_only = sample_client.post(
        "/v1/identity/resolve", json={"name": "crystal minh"}
    ).json()

    assert (by_email["status"], by_email["party_id"]) == (
        "matched",
        "abcd-customer-5798",
    )
    assert by_claims["party_id"] == FLAGGED and by_claims["confidence"] >= 0.99
    assert "postcode exact" in by_claims["explanation"]
    # Two stored customers are called crystal minh: the name alone decides nothing.
    assert name_only["status"] == "ambiguous" and name_only["party_id"] is None
    assert {c["party_id"] for c in name_only["candidates"]} == {
        FLAGGED,
        "abcd-customer-5798",
    }
    assert "crystal" not in str(name_only).lower()


def test_identity_rejects_bad_identifiers_with_a_clear_problem(sample_client):
    unknown = sample_client.post(
        "/v1/identity/resolve", json={"identifiers": [{"kind": "fax", "value": "1"}]}
    )
    bad_phone = sample_client.post(
        "/v1/identity/resolve",
        json={"identifiers": [{"kind": "phone", "value": "12"}]},
    )
    missing = sample_client.post(
        "/v1/identity/resolve",
        json={"name": "crystal minh", "postcode": "75227", "interaction_id": "nope"},
    )

    assert unknown.status_code == 422 and "fax" in unknown.json()["detail"]
    assert bad_phone.status_code == 422 and "phone number" in bad_phone.json()["detail"]
    assert missing.status_code == 404


def test_reidentification_over_http_is_for_admin_and_risk_only(customer_services):
    with api_client(customer_services, "agent") as agent:
        # The role is the key's: one stated in the body changes nothing.
        denied = agent.post(
            "/v1/interactions/abcd-3592/reidentify",
            json={"role": "risk", "reason": "curious"},
        )
    with api_client(customer_services, "risk") as risk:
        granted = risk.post(
            "/v1/interactions/abcd-3592/reidentify", json={"reason": "complaint 42"}
        )
        unknown = risk.post("/v1/interactions/nope/reidentify", json={"reason": "x"})
        no_reason = risk.post("/v1/interactions/abcd-3592/reidentify", json={})

    assert denied.status_code == 403
    assert "it serves: admin, risk" in denied.json()["detail"]
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert granted.status_code == 200
    body = granted.json()
    assert body["values_restored"] > 0 and body["risk_event_id"]
    assert any("Crystal Minh" in t["text"] for t in body["turns"])
    assert unknown.status_code == 404


def test_identity_requests_that_offer_nothing_or_unknown_fields_are_422(client):
    empty = client.post("/v1/identity/resolve", json={})
    stray = client.post("/v1/identity/resolve", json={"phone": "0412 555 019"})

    assert empty.status_code == 422
    assert (
        "at least one of identifiers, name, postcode or dob" in empty.json()["detail"]
    )
    assert stray.status_code == 422 and stray.json()["errors"][0]["field"] == "phone"


def test_customers_that_share_an_identifier_can_be_merged_as_the_api_advises(
    client,
):
    shared = [{"kind": "phone", "value": "0412 555 019"}]
    client.post(
        "/v1/customers",
        json={
            "customers": [
                _customer("c-1", identifiers=shared),
                _customer("c-3", identifiers=[]),
            ]
        },
    )
    seen = client.post(
        "/v1/events",
        json={
            "id": "e-seen",
            "source": "crm",
            "type": "cx.identifier.seen",
            "time": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "data": {"party_id": "c-3", "identifier": shared[0]},
        },
    )
    assert "held by customer c-1; merge them" in seen.json()["detail"]
    # The other system's copy of the same phone, as a sync would send it.
    client.post(
        "/v1/customers", json={"customers": [_customer("c-3", identifiers=shared)]}
    )

    merged = client.post(
        "/v1/merges",
        json={"survivor_id": "c-1", "merged_id": "c-3", "decided_by": "agent-7"},
    )

    assert merged.status_code == 200, merged.text
    survivor = client.get("/v1/customers/c-1").json()
    assert [i["kind"] for i in survivor["identifiers"]] == ["phone"]
    undo = client.post(
        f"/v1/merges/{merged.json()['merge_id']}/undo", json={"undone_by": "lead-1"}
    )
    assert undo.status_code == 200
    assert client.get("/v1/customers/c-3").json()["identifiers"][0]["masked"] == (
        "***019"
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/context",
            {"customer_id": "c-1", "qestion_typo": "refund"},
            "qestion_typo",
        ),
        (
            "/v1/merges",
            {"survivor_id": "a", "merged_id": "b", "decided_by": "x", "tenant": "t"},
            "tenant",
        ),
        ("/v1/merges/1/undo", {"undone_by": "x", "reason": "oops"}, "reason"),
        ("/v1/customers", {"customers": [{}], "tenant": "acme"}, "tenant"),
        ("/v1/interactions", {"interactions": [{}], "source": "x"}, "source"),
        ("/v1/knowledge", {"documents": [{}], "dry_run": True}, "dry_run"),
    ],
)
def test_an_unknown_body_field_is_a_422_naming_it(client, path, body, field):
    response = client.post(path, json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_customer_and_event_batches_wait_while_bulk_work_holds_its_share(
    client, record_services
):
    """Customer upserts and event batches are bulk work, as ingests are: with
    the bulk share of the compute pool held, they wait, and a record read
    still answers; they go on once the share is given back."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor, wait

    pool = record_services.compute
    release = threading.Event()
    holders = [
        threading.Thread(target=asyncio.run, args=(pool.run_bulk(release.wait, 60),))
        for _ in range(pool.bulk_threads)
    ]
    for holder in holders:
        holder.start()
    event = _case_opened("bulk-share-1", "crm-nobody", {"id": "c", "status": "open"})
    with ThreadPoolExecutor(2) as requests:
        try:
            upsert = requests.submit(
                client.post,
                "/v1/customers",
                json={"customers": [_customer("crm-bulk")]},
            )
            events = requests.submit(client.post, "/v1/events", json=event)
            assert client.get("/v1/customers/crm-nobody").status_code == 404
            # Unheld, each answers in well under a second; held, never.
            wait([upsert, events], timeout=3)
            assert not upsert.done() and not events.done()
        finally:
            release.set()
        assert upsert.result(timeout=60).status_code == 200
        applied = events.result(timeout=60)
        assert applied.status_code == 422
        assert applied.json()["errors"][0]["message"] == "unknown party 'crm-nobody'"
    for holder in holders:
        holder.join(timeout=10)


def test_an_interaction_sent_over_the_api_joins_its_customers_timeline(client):
    """As on the command line: a contact naming a customer by a strong
    identifier is linked to that customer when it is ingested."""
    client.post("/v1/customers", json={"customers": [_customer("crm-7")]})
    chat = {
        "id": "chat-7",
        "channel": "chat",
        "source_system": "webchat",
        "customer_identifiers": [{"kind": "email", "value": "CRM-7@example.com"}],
        "turns": [{"speaker": "customer", "text": "My parcel never arrived."}],
    }
    stranger = {
        **chat,
        "id": "chat-8",
        "customer_identifiers": [{"kind": "email", "value": "who@example.com"}],
    }

    response = client.post("/v1/interactions", json={"interactions": [chat, stranger]})

    assert response.status_code == 200
    assert response.json()["links"] == {"linked": 1, "unlinked": 1}
    assert client.get("/v1/customers/crm-7").json()["interaction_ids"] == ["chat-7"]
    timeline = client.get("/v1/customers/crm-7/timeline").json()
    assert "chat-7" in json.dumps(timeline)
