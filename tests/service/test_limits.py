"""Limits of the HTTP API: body size, batch size, text length and per-key rates."""

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from conftest import api_client, make_services
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services

PROBLEM = "application/problem+json"


@pytest.fixture
def limited(tmp_path, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    svc = make_services(
        tmp_path / "data",
        max_body_bytes=2_000,
        max_text_chars=300,
        rate_limit="5/minute",
    )
    yield svc
    svc.close()


def _interaction(text: str) -> dict[str, object]:
    return {
        "id": "limit-1",
        "channel": "chat",
        "source_system": "web-chat",
        "turns": [{"speaker": "customer", "text": text}],
    }


def test_a_body_over_the_limit_is_a_413_naming_the_limit(limited: Services) -> None:
    with api_client(limited) as client:
        declared = client.post(
            "/v1/interactions",
            json={"interactions": [_interaction("x" * 3_000)]},
            headers={"x-request-id": "big-1"},
        )

        def chunks() -> Iterator[bytes]:
            yield b'{"interactions": ['
            for _ in range(10):
                yield b'{"id": "' + b"y" * 500 + b'"},'
            yield b"{}]}"

        streamed = client.post(
            "/v1/interactions",
            content=chunks(),
            headers={"content-type": "application/json"},
        )

    assert declared.status_code == 413
    assert declared.headers["content-type"] == PROBLEM
    problem = declared.json()
    assert problem["title"] == "Request body too large"
    assert "the limit is 2000 bytes (CX_MAX_BODY_BYTES)" in problem["detail"]
    assert problem["request_id"] == "big-1"
    assert streamed.status_code == 413
    assert "over 2000 bytes, the limit is 2000 bytes" in streamed.json()["detail"]


def test_a_text_over_the_limit_is_rejected_naming_field_and_limit(
    limited: Services,
) -> None:
    with api_client(limited) as client:
        response = client.post(
            "/v1/interactions", json={"interactions": [_interaction("z" * 400)]}
        )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "interactions.0"
    assert "text is 400 characters, the limit is 300" in error["message"]


def test_a_key_over_its_rate_gets_429_and_other_keys_go_on(limited: Services) -> None:
    with api_client(limited, "risk") as busy, api_client(limited, "risk") as calm:
        statuses = [busy.get("/v1/risks").status_code for _ in range(6)]
        refused = busy.get("/v1/risks")
        other = calm.get("/v1/risks")

    assert statuses == [200] * 5 + [429]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert (
        "over its rate limit of 5 per 1 minute (CX_RATE_LIMIT)"
        in (refused.json()["detail"])
    )
    assert other.status_code == 200


def test_an_unreadable_rate_limit_setting_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="rate limit must look like '600/minute'"):
        Settings(data_dir=tmp_path, rate_limit="lots")
