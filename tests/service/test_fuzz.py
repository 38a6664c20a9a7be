"""A fuzz of the whole HTTP API from its own OpenAPI schema: no request is a 5xx.

Schemathesis generates requests for every operation the schema declares: its
coverage phase (boundary values, missing and extra parameters, wrong types)
and its fuzzing phase (random valid and schema-breaking requests), and they
go in-process to the ASGI app over a fresh store holding the bundled ABCD
manual, customers and chats, with an admin key (every operation is open to
it). No response may be a server error, and a method a path does not serve
must be a 405 that says which it does (`Allow`).

Full conformance to the schema is not asserted, only printed: the schema
declares FastAPI's defaults (200, and 422 as `application/json` in FastAPI's
validation-error shape), while the API answers every error as an RFC 9457
`application/problem+json` document, with 401, 403, 404, 409, 413 and 429
statuses the schema does not list; and some schema-valid requests are
refused by rules the schema cannot state (a period's `since` before its
`until`, a question that is blank). Until the schema documents its problem
responses, those checks would fail on every operation.

Bounded to run in a few minutes: at most MAX_EXAMPLES fuzzed requests per
operation, a fixed seed, no Hypothesis deadline, no example database and no
shrinking. The tests after it pin each server error the fuzz once found.

The operations run through schemathesis's own per-operation test builder
rather than its pytest plugin: the plugin's fixture-backed schema
(`schemathesis.pytest.from_fixture`) writes `Node._nodeid`, which pytest 9.2
no longer has.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test

from conftest import api_client, load_abcd_sample, make_services
from cx_context.service.app import create_app
from cx_context.service.wiring import Services

MAX_EXAMPLES = 25
SEED = 20260707
PROBLEM = "application/problem+json"
WRONG_405 = "Wrong response to undeclared method"  # schemathesis's failure title

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",  # valid requests and schema-breaking ones
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "no-shrink": True,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)


@pytest.fixture(scope="module")
def fuzz_services(
    tmp_path_factory: pytest.TempPathFactory,
    redactor: Any,
    embedder: Any,
) -> Iterator[Services]:
    """The ABCD manual, customers and chats in a store of the fuzz's own."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    # Thousands of requests with one key: no rate limit.
    svc = make_services(folder / "data", rate_limit="")
    load_abcd_sample(svc)
    yield svc
    svc.close()


def test_no_request_is_a_server_error(fuzz_services: Services) -> None:
    key = fuzz_services.api_keys.create("admin", label="fuzz")
    assert key.token is not None
    headers = {"Authorization": f"Bearer {key.token}"}
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(fuzz_services), config=CONFIG
    )

    failures: dict[str, str] = {}  # the first server error of each operation
    nonconforming: dict[str, set[str]] = {}  # responses unlike the schema's
    sent: dict[str, int] = {}
    statuses: dict[int, int] = {}

    def check(case: schemathesis.Case) -> None:
        # Records rather than raises, so that one run lists every operation's
        # first server error and every undeclared status.
        label = case.operation.label
        sent[label] = sent.get(label, 0) + 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised: a 500 in production
            failures.setdefault(
                label,
                f"{label} raised {type(exc).__name__}: {exc}\n"
                f"  {case.as_curl_command()}",
            )
            return
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            failures.setdefault(
                label,
                f"{label} -> {status} {response.text[:300]}\n"
                f"  {case.as_curl_command()}",
            )
        try:
            case.validate_response(response)
        except FailureGroup as group:
            for failure in group.exceptions:
                nonconforming.setdefault(label, set()).add(failure.title)

    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        build_operation_test(
            config=schema.config,
            operation=operation,
            test_func=check,
            given_kwargs={},
            feedback=FeedbackSources(),
        )()

    summary = (
        f"{operations} operations, {sum(sent.values())} requests, "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    print(summary)
    print("nonconforming:", {k: sorted(v) for k, v in nonconforming.items()})
    assert operations >= 25, summary  # the whole API, not a part of it
    assert statuses.get(200, 0) > 0, summary  # valid requests got through
    assert not failures, "\n".join(failures.values())
    no_allow = [k for k, v in nonconforming.items() if WRONG_405 in v]
    assert not no_allow, f"405 without Allow from {no_allow}"


# Server errors the fuzz found, each pinned by the request that made it ------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/answers", {"question": "refund\u0003 please"}),
        ("/v1/context", {"customer_id": "c-1", "question": "refund\u0003 please"}),
    ],
)
def test_a_question_with_a_control_character_is_a_422_not_a_500(
    services: Services, path: str, body: dict[str, str]
) -> None:
    # The redactor refuses text holding control characters (binary data).
    with api_client(services, "admin") as client:
        response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["title"] == "Invalid text"
    assert "control characters" in problem["detail"]
    assert "U+0003 at offset 6" in problem["detail"]


@pytest.mark.parametrize(
    "parameter",
    [
        "latency_bound_s=1e300",
        "recontact_days=1e300",
        "recontact_days=inf",
        # Each period ends after the last day the calendar holds.
        "period=9999-12",
        "period=9999-W52",
        "period=9999-12-31",
        "period=2026-01-01/9999-12-31",
    ],
)
def test_a_scorecard_window_beyond_the_calendar_is_a_422(
    services: Services, parameter: str
) -> None:
    with api_client(services, "admin") as client:
        response = client.get(f"/v1/scorecard?{parameter}")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert (
        response.json()["errors"][0]["field"] == f"query.{parameter.partition('=')[0]}"
    )


def test_a_knowledge_period_before_year_1_is_a_422_naming_days(
    services: Services,
) -> None:
    with api_client(services, "admin") as client:
        health = client.get("/v1/knowledge/health?days=1000000")
        gaps = client.get("/v1/knowledge/gaps?until=0055-09-12T10:00:00Z&days=200000")
        stale = client.get("/v1/knowledge/health?stale_after_days=1000000000")
        page = client.get("/ui/knowledge?days=1000000")
    for response in (health, gaps):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"] == [
            {"field": "query.days", "message": response.json()["detail"]}
        ]
        assert "falls before year 1" in response.json()["detail"]
    assert stale.status_code == 422
    assert stale.json()["errors"][0]["field"] == "query.stale_after_days"
    assert page.status_code == 422
    assert "falls before year 1" in page.text


def test_undoing_a_merge_id_no_column_can_hold_is_a_404(
    record_services: Services,
) -> None:
    with api_client(record_services, "admin") as client:
        for merge_id in (2**31, 21682553977376476717667735044096, 0, -5):
            response = client.post(
                f"/v1/merges/{merge_id}/undo", json={"undone_by": "agent-7"}
            )
            assert response.status_code == 404, merge_id
            assert response.json()["detail"] == f"no merge with id {merge_id}"


def test_a_method_the_path_does_not_serve_is_a_405_naming_the_ones_it_does(
    services: Services,
) -> None:
    with api_client(services, "admin") as client:
        response = client.delete("/v1/answers")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "POST"
