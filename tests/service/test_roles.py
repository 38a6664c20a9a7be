"""Every role against every endpoint: the allowed ones succeed, the others get 403.

The matrix below is the access policy written out. A route the app serves that
is missing here fails the first test, so no endpoint goes out undeclared.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import DIALOGUES, FLAGGED, GUIDELINES, api_client, make_services
from cx_context.knowledge.questions import QuestionOutcome
from cx_context.service.app import create_app
from cx_context.service.auth import Role, route_roles
from cx_context.service.wiring import Services

A, B, K, R, D = (
    Role.AGENT,
    Role.BOT,
    Role.KNOWLEDGE_OWNER,
    Role.RISK,
    Role.ADMIN,
)

# Routes anyone may call: probes, metrics and the API's own documentation.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    # Signing in to the pages: the form checks the key it is given.
    ("GET", "/ui/login"),
    ("POST", "/ui/login"),
    ("POST", "/ui/logout"),
}

INTERACTION = {
    "id": "matrix-chat-1",
    "channel": "chat",
    "source_system": "web-chat",
    "turns": [
        {"speaker": "customer", "text": "My parcel has not arrived yet."},
        {"speaker": "agent", "text": "I have checked, it arrives tomorrow."},
    ],
}
DOCUMENT = {
    "id": "matrix-doc-1",
    "title": "Refunds",
    "source": "policy",
    "body": [{"heading": "Returns", "text": "Items may be returned within 30 days."}],
}
EVENT = {
    "specversion": "1.0",
    "id": "matrix-ev-1",
    "source": "crm",
    "type": "cx.case.opened",
    "time": "2026-01-05T10:00:00Z",
    "data": {
        "party_id": "abcd-customer-3592",
        "case": {
            "id": "matrix-case-1",
            "status": "open",
            "intent": "refund",
            "opened_at": "2026-01-05T09:00:00Z",
        },
    },
}


@dataclass
class Call:
    """One request an allowed caller makes successfully."""

    method: str
    url: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (200,)


def _context(role: Role) -> Call:
    purpose = "bot_answer" if role is B else "agent_assist"
    body = {
        "customer_id": "abcd-customer-3592",
        "purpose": purpose,
        "question": "can I return jeans?",
    }
    return Call("POST", "/v1/context", body)


def _merge(role: Role) -> Call:
    body = {
        "survivor_id": f"matrix-{role.value}-a",
        "merged_id": f"matrix-{role.value}-b",
        "decided_by": "role test",
    }
    return Call("POST", "/v1/merges", body)


# (method, path template) -> (roles allowed, the request an allowed role makes)
MATRIX: dict[tuple[str, str], tuple[set[Role], Callable[[Role], Call]]] = {
    ("POST", "/v1/knowledge"): (
        {K, D},
        lambda _: Call("POST", "/v1/knowledge", {"documents": [DOCUMENT]}),
    ),
    ("POST", "/v1/interactions"): (
        {A, B, D},
        lambda _: Call("POST", "/v1/interactions", {"interactions": [INTERACTION]}),
    ),
    ("POST", "/v1/answers"): (
        {A, B, K, D},
        lambda _: Call("POST", "/v1/answers", {"question": "can I return an item?"}),
    ),
    # Question 1 is stored by the fixture; marking it again is still a 200.
    ("POST", "/v1/answers/{question_id}/escalation"): (
        {A, B, D},
        lambda _: Call("POST", "/v1/answers/1/escalation"),
    ),
    ("GET", "/v1/interactions/{interaction_id}/summary"): (
        {A, D},
        lambda _: Call("GET", "/v1/interactions/abcd-3592/summary"),
    ),
    ("POST", "/v1/customers"): (
        {D},
        lambda _: Call(
            "POST",
            "/v1/customers",
            {"customers": [{"id": "matrix-new", "source_system": "crm"}]},
        ),
    ),
    ("GET", "/v1/customers/{customer_id}"): (
        {A, D},
        lambda _: Call("GET", "/v1/customers/abcd-customer-3592"),
    ),
    ("GET", "/v1/customers/{customer_id}/timeline"): (
        {A, D},
        lambda _: Call("GET", "/v1/customers/abcd-customer-3592/timeline"),
    ),
    ("POST", "/v1/context"): ({A, B, D}, _context),
    ("POST", "/v1/identity/resolve"): (
        {A, B, D},
        lambda _: Call("POST", "/v1/identity/resolve", {"name": "crystal minh"}),
    ),
    ("POST", "/v1/interactions/{interaction_id}/reidentify"): (
        {R, D},
        lambda _: Call(
            "POST", "/v1/interactions/abcd-3592/reidentify", {"reason": "role test"}
        ),
    ),
    ("POST", "/v1/merges"): ({A, D}, _merge),
    ("POST", "/v1/merges/{merge_id}/undo"): (
        {A, D},
        # The merge this role made in the merges row is undone here.
        lambda role: Call(
            "POST", f"/v1/merges/{{{role.value}}}/undo", {"undone_by": "role test"}
        ),
    ),
    ("POST", "/v1/events"): ({D}, lambda _: Call("POST", "/v1/events", EVENT)),
    ("GET", "/v1/risks"): ({R, D}, lambda _: Call("GET", "/v1/risks")),
    ("GET", "/v1/risks/export"): ({R, D}, lambda _: Call("GET", "/v1/risks/export")),
    ("GET", "/v1/customers/{customer_id}/handoff"): (
        {A, D},
        lambda _: Call("GET", "/v1/customers/abcd-customer-3592/handoff"),
    ),
    ("GET", "/v1/interactions/{interaction_id}/wrapup"): (
        {A, D},
        lambda _: Call("GET", "/v1/interactions/abcd-3592/wrapup"),
    ),
    ("POST", "/v1/drafts"): (
        {A, D},
        lambda _: Call("POST", "/v1/drafts", {"interaction_id": "abcd-3592"}),
    ),
    ("GET", "/v1/knowledge/gaps"): (
        {K, D},
        lambda _: Call("GET", "/v1/knowledge/gaps"),
    ),
    ("GET", "/v1/knowledge/health"): (
        {K, D},
        lambda _: Call("GET", "/v1/knowledge/health"),
    ),
    ("GET", "/ui/knowledge"): ({K, D}, lambda _: Call("GET", "/ui/knowledge")),
    ("GET", "/v1/scorecard"): ({A, K, R, D}, lambda _: Call("GET", "/v1/scorecard")),
    ("GET", "/ui/scorecard"): ({A, K, R, D}, lambda _: Call("GET", "/ui/scorecard")),
}


@pytest.fixture(scope="module")
def matrix_services(tmp_path_factory, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """A small store: three manual documents, the five ABCD chats and customers."""
    from cx_context.context.customer_sources import read_customers
    from cx_context.context.records import CustomerIn, RiskFlagIn
    from cx_context.knowledge.adapters import read_interactions, read_knowledge

    svc = make_services(tmp_path_factory.mktemp("roles") / "data")
    svc.ingestor.ingest_documents(list(read_knowledge(GUIDELINES))[:3], "guidelines")
    flag = RiskFlagIn(
        id="matrix-flag",
        kind="vulnerable_customer",
        severity="high",
        raised_at=datetime.now(UTC),
    )
    customers = [
        c.model_copy(update={"risk_flags": [flag]}) if c.id == FLAGGED else c
        for p in read_customers(DIALOGUES)
        if (c := p.record)
    ]
    pairs = [
        CustomerIn(id=f"matrix-{role.value}-{side}", source_system="crm")
        for role in Role
        for side in "abcd"
    ]
    assert not svc.customers.upsert_many([*customers, *pairs]).problems
    interactions = list(read_interactions(DIALOGUES))
    svc.ingestor.ingest_interactions(interactions, DIALOGUES.name)
    svc.link_interactions([p.record for p in interactions if p.record])
    assert svc.question_log.record("a question", QuestionOutcome.ANSWERED, 0.6) == 1
    yield svc
    svc.close()


def test_every_route_declares_its_roles_and_is_in_the_matrix(
    matrix_services: Services,
) -> None:
    declared = route_roles(create_app(matrix_services))

    undeclared = {route for route, roles in declared.items() if roles is None} - PUBLIC
    assert undeclared == set(), "routes without require_roles(...)"
    served = {route: roles for route, roles in declared.items() if roles is not None}
    assert set(served) - set(MATRIX) == set(), "routes missing from MATRIX"
    assert {route: set(roles) for route, roles in served.items()} == {
        route: allowed for route, (allowed, _) in MATRIX.items() if route in served
    }


def _send(client: TestClient, call: Call, merges: dict[str, int]) -> Any:
    url = call.url.format(**{k: str(v) for k, v in merges.items()})
    return client.request(call.method, url, json=call.json, params=call.params)


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_role_is_let_in_or_refused_as_the_matrix_says(
    matrix_services: Services, route: tuple[str, str]
) -> None:
    if route not in route_roles(create_app(matrix_services)):
        pytest.skip(f"{route} is not served (yet)")
    allowed, make_call = MATRIX[route]
    # Merges made beforehand for the undo row, one per role that may undo.
    merges = {
        role.value: matrix_services.customers.merge(
            f"matrix-{role.value}-c", f"matrix-{role.value}-d", "setup", 1.0, None
        )
        for role in allowed
        if route == ("POST", "/v1/merges/{merge_id}/undo")
    }
    merges.update({role.value: 1 for role in Role if role.value not in merges})

    with TestClient(create_app(matrix_services), follow_redirects=False) as anonymous:
        call = make_call(Role.ADMIN)
        response = _send(anonymous, call, merges)
        if route[1].startswith("/ui/"):
            # A browser opening a page without a key is sent to sign in.
            assert response.status_code == 303, response.text
            assert response.headers["location"].startswith("/ui/login?next=")
        else:
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["title"] == "Not authenticated"

    for role in Role:
        call = make_call(role)
        with api_client(matrix_services, role.value) as client:
            response = _send(client, call, merges)
        if role in allowed:
            assert response.status_code in call.ok, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            problem = response.json()
            assert problem["title"] == "Forbidden"
            assert (
                f"role {role.value!r} may not call this endpoint" in (problem["detail"])
            )
            assert problem["request_id"] == response.headers["x-request-id"]


def test_a_revoked_or_forged_key_is_a_401(matrix_services: Services) -> None:
    key = matrix_services.api_keys.create("admin")
    assert key.token is not None
    forged = key.token[:-4] + ("AAAA" if not key.token.endswith("AAAA") else "BBBB")
    app = create_app(matrix_services)

    with TestClient(app) as client:
        good = client.get("/v1/risks", headers={"Authorization": f"Bearer {key.token}"})
        bad = client.get("/v1/risks", headers={"Authorization": f"Bearer {forged}"})
        basic = client.get("/v1/risks", headers={"Authorization": "Basic eDp5"})
        matrix_services.api_keys.revoke(key.key_id)
        revoked = client.get(
            "/v1/risks", headers={"Authorization": f"Bearer {key.token}"}
        )

    assert good.status_code == 200
    assert [bad.status_code, basic.status_code, revoked.status_code] == [401] * 3
    assert revoked.json()["detail"] == "the API key is unknown or revoked"


@pytest.mark.parametrize(
    ("role", "purpose", "status"),
    [
        ("bot", "agent_assist", 403),
        ("bot", "summary", 403),
        ("bot", "bot_answer", 200),
        ("agent", "bot_answer", 403),
        ("agent", "summary", 200),
        ("admin", "summary", 200),
    ],
)
def test_a_role_assembles_context_only_for_its_purposes(
    matrix_services: Services, role: str, purpose: str, status: int
) -> None:
    with api_client(matrix_services, role) as client:
        response = client.post(
            "/v1/context",
            json={"customer_id": "abcd-customer-3592", "purpose": purpose},
        )

    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["title"] == "Purpose not allowed"
        assert f"got purpose {purpose!r}" in response.json()["detail"]


def test_a_bot_never_sees_risk_flags_or_another_customers_contacts(
    matrix_services: Services,
) -> None:
    body = {
        "customer_id": "abcd-customer-3592",
        "purpose": "bot_answer",
        "question": "can I return jeans?",
    }
    with api_client(matrix_services, "bot") as bot:
        bundle = bot.post("/v1/context", json=body).json()
        record = bot.get("/v1/customers/abcd-customer-3592")
    with api_client(matrix_services, "agent") as agent:
        agent_bundle = agent.post(
            "/v1/context", json={**body, "purpose": "agent_assist"}
        ).json()

    kinds = {item["kind"] for item in bundle["items"]}
    assert "risk_flag" not in kinds and "similar_interaction" not in kinds
    assert "risk_flag" in {item["kind"] for item in agent_bundle["items"]}
    assert record.status_code == 403
