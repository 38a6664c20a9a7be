"""The HTTP API over real stores and models."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conftest import api_client

PROBLEM = "application/problem+json"


def _interaction(
    record_id: str, text: str = "My order has not arrived."
) -> dict[str, object]:
    return {
        "id": record_id,
        "channel": "chat",
        "source_system": "web-chat",
        "turns": [
            {"speaker": "customer", "text": text},
            {
                "speaker": "agent",
                "text": "I have checked it and it will arrive tomorrow.",
            },
        ],
    }


@pytest.fixture
def client(services) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with api_client(services) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sample_client(sample_services) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with api_client(sample_services) as test_client:
        yield test_client


def test_a_mixed_batch_lands_its_good_records_and_names_the_bad_field(
    client: TestClient,
) -> None:
    bad = {
        **_interaction("api-2"),
        "turns": [{"speaker": "customer", "text": ["not", "text"]}],
    }
    response = client.post(
        "/v1/interactions", json={"interactions": [_interaction("api-1"), bad]}
    )

    assert response.status_code == 207
    body = response.json()
    assert body["counts"] == {"added": 1, "unchanged": 0, "replaced": 0, "rejected": 1}
    assert body["results"][1] == {
        "position": 2,
        "id": "api-2",
        "outcome": "rejected",
        "chunks": 0,
        "problem": "turns.0.text: Input should be a valid string",
    }
    again = client.post(
        "/v1/interactions", json={"interactions": [_interaction("api-1")]}
    )
    assert again.status_code == 200
    assert again.json()["counts"]["unchanged"] == 1


def test_a_batch_with_nothing_valid_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/v1/knowledge", json={"documents": [{"id": "d-1", "title": "T", "body": []}]}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["title"] == "No record was accepted"
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert "body: List should have at least 1 item" in fields["documents.0"]
    assert "source: Field required" in fields["documents.0"]
    assert problem["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "refund?", "k": 0}, "k"),
        ({"question": "refund?", "filters": {"tag": 3}}, "filters.tag.str"),
        ({}, "question"),
    ],
)
def test_a_malformed_answer_request_names_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/v1/answers", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in response.json()["errors"]]


def test_invalid_json_is_a_readable_422(client: TestClient) -> None:
    response = client.post(
        "/v1/interactions",
        content=b'{"interactions": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("media", "body", "named"),
    [
        ("text/plain", b"how do refunds work?", "'text/plain'"),
        ("application/x-www-form-urlencoded", b"question=refund", "'application/x-"),
        (None, b"how do refunds work?", "no content-type"),
    ],
)
def test_a_body_that_is_not_sent_as_json_is_a_415_naming_json(
    client: TestClient, media: str | None, body: bytes, named: str
) -> None:
    headers = {"content-type": media} if media else {}
    response = client.post("/v1/interactions", content=body, headers=headers)

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert "application/json" in response.json()["detail"]
    assert named in response.json()["detail"]


def test_answers_cite_the_manual_or_abstain(sample_client: TestClient) -> None:
    answered = sample_client.post(
        "/v1/answers",
        json={"question": "how do I get a refund for an item I returned?"},
    )
    assert answered.status_code == 200
    body = answered.json()
    assert body["abstained"] is False
    assert body["citations"][0]["title"].startswith("Product Defect:")

    abstained = sample_client.post(
        "/v1/answers", json={"question": "what is the weather in Paris?"}
    ).json()
    assert abstained["abstained"] is True
    assert abstained["citations"] == []

    bad_filter = sample_client.post(
        "/v1/answers", json={"question": "refund", "filters": {"colour": "red"}}
    )
    assert bad_filter.status_code == 422
    assert bad_filter.json()["errors"][0]["field"] == "filters"


def test_summary_by_id_and_a_404_problem_for_an_unknown_one(
    sample_client: TestClient,
) -> None:
    response = sample_client.get("/v1/interactions/abcd-3592/summary")
    assert response.status_code == 200
    fields = response.json()["fields"]
    assert fields["reason"][0]["turns"] == [3]

    missing = sample_client.get("/v1/interactions/abcd-1/summary")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["detail"] == "no interaction with id 'abcd-1'"


def test_health_docs_and_request_ids(sample_client: TestClient) -> None:
    health = sample_client.get("/readyz", headers={"x-request-id": "abc-123"})
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["vault"] == "ok"
    assert health.headers["x-request-id"] == "abc-123"

    assert sample_client.get("/openapi.json").json()["info"]["title"] == "cx-context"
    docs = sample_client.get("/docs").text
    assert "cdn.jsdelivr.net" not in docs  # the docs page works offline
    assert (
        sample_client.get("/static-offline-docs/swagger-ui-bundle.js").status_code
        == 200
    )


def test_a_batch_over_the_limit_is_a_413(tmp_path, redactor, embedder) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_services

    services = make_services(tmp_path / "data", max_batch_records=2)
    with api_client(services) as client:
        response = client.post(
            "/v1/interactions",
            json={"interactions": [_interaction(f"i-{n}") for n in range(3)]},
        )
    assert response.status_code == 413
    assert response.json()["detail"] == "the batch has 3 records, the limit is 2"
    services.close()


def test_health_is_degraded_when_the_vault_key_file_is_unreadable(
    tmp_path, redactor, embedder
) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_services

    services = make_services(
        tmp_path / "data", vault_key=None, vault_key_file=tmp_path / "missing.key"
    )
    with api_client(services) as client:
        health = client.get("/readyz")
        alive = client.get("/healthz")
    assert alive.status_code == 200
    assert health.status_code == 503
    assert health.json()["vault"].startswith("error")
    services.close()
