"""Tenant isolation: one tenant's key never reaches another tenant's data.

Two tenants share one service, one database server and one Chroma data
directory. Tenant acme loads knowledge, a customer and a conversation; a
globex key tries to read them by id, by search, by answers and context, with
filters naming acme's documents or acme as a tenant, and through the reports;
acme still sees its own. Everything is real: SQLite and PostgreSQL, Chroma on
disk, the embedding model and Presidio.
"""

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, update

from conftest import _postgres_database, make_services
from cx_context.context.errors import NotFoundError
from cx_context.knowledge.vectorstore import Collection
from cx_context.service.app import create_app
from cx_context.service.cli import main
from cx_context.service.keys import ApiKeyError, ApiKeyRow, TenantIdError
from cx_context.service.tenants import TenantServices
from cx_context.service.wiring import Services

PROBLEM = "application/problem+json"

ACME_DOC = "acme-zebra-warranty"
ACME_CUSTOMER = "cust-1"  # globex stores a customer of the same id
ACME_CHAT = "acme-chat-1"
# Words that occur only in acme's content: any of them in a globex answer leaks.
ACME_WORDS = ("zebra", "umbrella", "Whitfield", "Quokka")
# Only acme asks about quokkas (globex asks about zebras too, so those words
# may be in globex's own question log).
ACME_QUESTIONS = (
    "can my quokka ride the night bus",
    "is a quokka allowed on the night bus",
    "may I bring a quokka on a night bus",
    "quokka on the night bus, is that ok",
    "are pet quokkas allowed on night buses",
)

ROLES = ("admin", "agent", "bot", "knowledge_owner", "risk")


def _document(doc_id: str, title: str, heading: str, text: str) -> dict[str, Any]:
    return {
        "id": doc_id,
        "title": title,
        "source": "policy-wiki",
        "body": [{"heading": heading, "text": text}],
    }


ACME_DOCUMENTS = [
    _document(
        ACME_DOC,
        "Zebra umbrella warranty",
        "Returns",
        "A zebra umbrella can be returned within 90 days of purchase for a full "
        "refund. Bring the receipt to any store or start the return online.",
    ),
    _document(
        "acme-zebra-repairs",
        "Zebra umbrella repairs",
        "Repairs",
        "A broken zebra umbrella spoke is repaired free of charge for two years.",
    ),
]
GLOBEX_DOCUMENTS = [
    _document(
        "globex-parcels",
        "Parcel delivery times",
        "Delivery",
        "Parcels are delivered within two working days; express parcels arrive "
        "the next day when ordered before noon.",
    )
]


def _customer(name: str, email: str) -> dict[str, Any]:
    return {
        "id": ACME_CUSTOMER,
        "source_system": "crm",
        "name": name,
        "identifiers": [{"kind": "email", "value": email}],
    }


ACME_INTERACTION = {
    "id": ACME_CHAT,
    "channel": "chat",
    "source_system": "web-chat",
    "turns": [
        {
            "speaker": "customer",
            "text": "Hi, I am Dana Whitfield. My zebra umbrella broke, can I "
            "return it? My email is dana.whitfield@example.com",
        },
        {"speaker": "agent", "text": "Yes, within 90 days you get a full refund."},
    ],
}


@dataclass
class Estate:
    """The service with both tenants loaded, and a key per tenant and role."""

    client: TestClient
    services: Services
    keys: dict[tuple[str | None, str], str]
    acme_events: list[str]

    def call(
        self, tenant: str | None, role: str, method: str, path: str, **kwargs: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[(tenant, role)]}"}
        headers.update(kwargs.pop("headers", {}))
        return self.client.request(method, path, headers=headers, **kwargs)


def _load(estate: Estate) -> None:
    acme = estate.call(
        "acme", "admin", "POST", "/v1/knowledge", json={"documents": ACME_DOCUMENTS}
    )
    assert acme.status_code == 200, acme.text
    globex = estate.call(
        "globex", "admin", "POST", "/v1/knowledge", json={"documents": GLOBEX_DOCUMENTS}
    )
    assert globex.status_code == 200, globex.text
    for tenant, name, email in (
        ("acme", "Dana Whitfield", "dana.whitfield@example.com"),
        ("globex", "Lee Quist", "lee.quist@example.org"),
    ):
        stored = estate.call(
            tenant,
            "admin",
            "POST",
            "/v1/customers",
            json={"customers": [_customer(name, email)]},
        )
        assert stored.json()["stored"] == [ACME_CUSTOMER], stored.text
    chats = estate.call(
        "acme",
        "admin",
        "POST",
        "/v1/interactions",
        json={"interactions": [ACME_INTERACTION]},
    )
    assert chats.status_code == 200, chats.text
    # Questions for the gap report: the same unanswerable one, five times.
    for question in ACME_QUESTIONS:
        asked = estate.call(
            "acme", "bot", "POST", "/v1/answers", json={"question": question}
        )
        assert asked.status_code == 200, asked.text
    restored = estate.call(
        "acme",
        "risk",
        "POST",
        f"/v1/interactions/{ACME_CHAT}/reidentify",
        json={"reason": "complaint 7"},
    )
    assert restored.status_code == 200, restored.text
    estate.acme_events.append(restored.json()["risk_event_id"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def estate(request, tmp_path_factory, redactor, embedder) -> Iterator[Estate]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp(f"tenants-{request.param}")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{folder / 'records.sqlite3'}"])
    else:
        urls = _postgres_database()
    services = make_services(folder / "data", database_url=next(urls))
    keys: dict[tuple[str | None, str], str] = {}
    for tenant in ("acme", "globex", None):
        for role in ROLES:
            token = services.api_keys.create(role, tenant=tenant).token
            assert token is not None
            keys[(tenant, role)] = token
    with TestClient(create_app(services)) as client:
        loaded = Estate(client, services, keys, [])
        _load(loaded)
        yield loaded
    services.close()
    for _ in urls:  # drops the PostgreSQL database
        pass


def _text(response: Any) -> str:
    return json.dumps(response.json())


def _leaks(body: str, asked: str = "") -> list[str]:
    """Acme's words in a response, leaving out the question it echoes."""
    body = body.replace(asked, "").lower() if asked else body.lower()
    return [word for word in ACME_WORDS if word.lower() in body]


def test_each_tenant_reads_its_own_customer_of_the_same_id(estate: Estate) -> None:
    acme = estate.call("acme", "agent", "GET", f"/v1/customers/{ACME_CUSTOMER}")
    globex = estate.call("globex", "agent", "GET", f"/v1/customers/{ACME_CUSTOMER}")
    default = estate.call(None, "agent", "GET", f"/v1/customers/{ACME_CUSTOMER}")

    assert acme.status_code == 200 and acme.json()["name_masked"] == "D. W."
    assert globex.status_code == 200 and globex.json()["name_masked"] == "L. Q."
    assert "d***@example.com" in _text(acme) and "example.com" not in _text(globex)
    # The default tenant (keys without one) is a tenant like the others.
    assert default.status_code == 404


def test_another_tenants_records_are_404_by_id_not_403(estate: Estate) -> None:
    summary = f"/v1/interactions/{ACME_CHAT}/summary"
    acme = estate.call("acme", "agent", "GET", summary)
    attempts = [
        estate.call("globex", "agent", "GET", summary),
        estate.call("globex", "admin", "GET", summary),
        estate.call(
            "globex",
            "risk",
            "POST",
            f"/v1/interactions/{ACME_CHAT}/reidentify",
            json={"reason": "curious"},
        ),
        estate.call(
            "globex",
            "agent",
            "POST",
            "/v1/context",
            json={"customer_id": ACME_CUSTOMER, "interaction_id": ACME_CHAT},
        ),
    ]

    assert acme.status_code == 200
    for response in attempts:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == PROBLEM
        assert not _leaks(_text(response))


def test_search_answers_and_context_find_only_the_own_tenants_passages(
    estate: Estate,
) -> None:
    question = {"question": "can I return my zebra umbrella for a refund?"}
    acme = estate.call("acme", "bot", "POST", "/v1/answers", json=question)
    globex = estate.call("globex", "bot", "POST", "/v1/answers", json=question)
    context = estate.call(
        "globex",
        "agent",
        "POST",
        "/v1/context",
        json={"customer_id": ACME_CUSTOMER, "question": question["question"]},
    )

    assert acme.status_code == 200 and not acme.json()["abstained"]
    assert ACME_DOC in {c["document_id"] for c in acme.json()["citations"]}
    assert globex.status_code == 200
    assert all(
        c["document_id"].startswith("globex-") for c in globex.json()["citations"]
    )
    assert not _leaks(_text(globex), question["question"])
    assert context.status_code == 200
    passages = [i for i in context.json()["items"] if i["kind"] == "passage"]
    assert passages  # globex's own manual is found, and only it
    assert all(i["provenance"]["record_id"].startswith("globex-") for i in passages), (
        passages
    )
    assert not _leaks(_text(context), question["question"])


@pytest.mark.parametrize(
    "filters",
    [
        {"document_id": ACME_DOC},
        {"document_id": [ACME_DOC, "acme-zebra-repairs"]},
        {"source": "policy-wiki", "document_id": ACME_DOC},
    ],
)
def test_a_filter_naming_another_tenants_document_finds_nothing(
    estate: Estate, filters: dict[str, Any]
) -> None:
    body = {"question": "zebra umbrella refund", "filters": filters}
    acme = estate.call("acme", "bot", "POST", "/v1/answers", json=body)
    globex = estate.call("globex", "bot", "POST", "/v1/answers", json=body)

    assert acme.json()["citations"], acme.text  # the filter itself works
    assert globex.status_code == 200
    assert globex.json()["abstained"] and globex.json()["citations"] == []
    assert not _leaks(_text(globex), body["question"])


def test_a_tenant_named_in_filters_body_query_or_headers_changes_nothing(
    estate: Estate,
) -> None:
    question = "zebra umbrella refund"
    attempts = [
        estate.call(
            "globex",
            "bot",
            "POST",
            "/v1/answers",
            json={"question": question, "filters": {"tenant": "acme"}},
        ),
        estate.call(
            "globex",
            "bot",
            "POST",
            "/v1/answers",
            json={"question": question, "tenant": "acme"},
        ),
        estate.call(
            "globex",
            "bot",
            "POST",
            "/v1/answers?tenant=acme",
            json={"question": question},
        ),
        estate.call(
            "globex",
            "bot",
            "POST",
            "/v1/answers",
            json={"question": question},
            headers={"X-Tenant": "acme", "X-Tenant-Id": "acme"},
        ),
    ]
    by_id = estate.call(
        "globex", "agent", "GET", f"/v1/customers/{ACME_CUSTOMER}?tenant=acme"
    )
    timeline = estate.call(
        "globex",
        "agent",
        "GET",
        f"/v1/customers/{ACME_CUSTOMER}/timeline",
        params={"tenant": "acme"},
    )

    # A tenant is no filter the store knows: refused, naming the field.
    assert attempts[0].status_code == 422
    assert attempts[0].json()["errors"][0]["field"] == "filters"
    for response in attempts:
        assert response.status_code in (200, 422), response.text
        assert not _leaks(_text(response), question)
        if response.status_code == 200:
            assert all(
                c["document_id"].startswith("globex-")
                for c in response.json()["citations"]
            )
    assert by_id.json()["name_masked"] == "L. Q."  # globex's own customer
    assert not _leaks(_text(timeline))


def test_identity_resolution_does_not_match_another_tenants_customer(
    estate: Estate,
) -> None:
    claim = {"identifiers": [{"kind": "email", "value": "dana.whitfield@example.com"}]}
    acme = estate.call("acme", "agent", "POST", "/v1/identity/resolve", json=claim)
    globex = estate.call("globex", "agent", "POST", "/v1/identity/resolve", json=claim)

    assert acme.json()["status"] == "matched"
    assert acme.json()["party_id"] == ACME_CUSTOMER
    assert globex.status_code == 200 and globex.json()["party_id"] is None


def test_gaps_health_and_risk_events_are_each_tenants_own(estate: Estate) -> None:
    gaps = {
        tenant: estate.call(
            tenant, "knowledge_owner", "GET", "/v1/knowledge/gaps?min_questions=2"
        )
        for tenant in ("acme", "globex")
    }
    health = {
        tenant: estate.call(tenant, "knowledge_owner", "GET", "/v1/knowledge/health")
        for tenant in ("acme", "globex")
    }
    risks = {
        tenant: estate.call(tenant, "risk", "GET", "/v1/risks?limit=1000")
        for tenant in ("acme", "globex", None)
    }
    export = estate.call("globex", "risk", "GET", "/v1/risks/export")

    assert gaps["acme"].json()["n_questions"] >= len(ACME_QUESTIONS)
    assert "quokka" in _text(gaps["acme"]).lower()
    assert gaps["globex"].status_code == 200
    assert "quokka" not in _text(gaps["globex"]).lower()
    assert health["acme"].json()["n_documents"] == len(ACME_DOCUMENTS)
    assert health["globex"].json()["n_documents"] == len(GLOBEX_DOCUMENTS)
    assert ACME_DOC in _text(health["acme"])
    assert "acme-" not in _text(health["globex"])
    events = {t: {e["event_id"] for e in r.json()["events"]} for t, r in risks.items()}
    assert set(estate.acme_events) <= events["acme"]
    assert not events["acme"] & events["globex"]
    assert not events["acme"] & events[None]
    assert not any(event in export.text for event in estate.acme_events)


def test_the_scorecard_counts_only_the_own_tenants_contacts(estate: Estate) -> None:
    cards = {
        tenant: estate.call(tenant, "agent", "GET", "/v1/scorecard").json()
        for tenant in ("acme", "globex")
    }

    assert cards["acme"]["counts"]["contacts"] == 1
    assert cards["globex"]["counts"]["contacts"] == 0


def test_pages_show_only_the_own_tenants_knowledge(estate: Estate) -> None:
    acme = estate.call("acme", "knowledge_owner", "GET", "/ui/knowledge")
    globex = estate.call("globex", "knowledge_owner", "GET", "/ui/knowledge")
    titles = [d["title"] for d in ACME_DOCUMENTS]

    assert acme.status_code == 200
    assert all(title in acme.text for title in titles)
    assert globex.status_code == 200
    assert GLOBEX_DOCUMENTS[0]["title"] in globex.text
    assert not any(title in globex.text for title in titles)
    assert "quokka" not in globex.text.lower() and "acme-" not in globex.text


def test_the_request_log_names_the_callers_tenant(
    estate: Estate, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cx_context.service.app"):
        estate.call("acme", "agent", "GET", f"/v1/customers/{ACME_CUSTOMER}")
        estate.call(None, "agent", "GET", f"/v1/customers/{ACME_CUSTOMER}")

    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert [getattr(r, "tenant", "missing") for r in lines[-2:]] == ["acme", None]


def test_each_tenant_has_its_own_stores(estate: Estate) -> None:
    registry = estate.client.app.state.tenants  # type: ignore[attr-defined]
    assert isinstance(registry, TenantServices)
    acme, globex = registry.get("acme"), registry.get("globex")
    acme_chunks = [h.chunk_id for h in acme.store.all(Collection.KNOWLEDGE)]

    assert acme_chunks
    for other in (globex, estate.services):
        assert other.store.get(Collection.KNOWLEDGE, acme_chunks) == []
        assert not other.catalog.existing_interactions([ACME_CHAT])
    # The default tenant holds the keys and none of the tenants' records.
    with pytest.raises(NotFoundError):
        estate.services.customers.get(ACME_CUSTOMER)
    assert estate.services.catalog.counts()["documents"] == 0
    if acme.engine.dialect.name == "sqlite":
        assert acme.data_dir == estate.services.settings.data_dir / "tenants" / "acme"
        assert (acme.data_dir / "cx-context.sqlite3").is_file()
    else:
        schemas = inspect(estate.services.engine).get_schema_names()
        assert {"tenant_acme", "tenant_globex"} <= set(schemas)
        tables = inspect(estate.services.engine).get_table_names("tenant_acme")
        assert "parties" in tables and "alembic_version" in tables


def test_a_key_with_an_unusable_tenant_is_refused_with_a_problem(
    estate: Estate,
) -> None:
    key = estate.services.api_keys.create("agent", tenant="acme")
    # As a key stored before tenant ids were checked could be.
    with estate.services.sessions.begin() as session:
        session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.key_id == key.key_id)
            .values(tenant="Acme Corp/../x")
        )

    response = estate.client.get(
        f"/v1/customers/{ACME_CUSTOMER}",
        headers={"Authorization": f"Bearer {key.token}"},
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "not a valid tenant id" in response.json()["detail"]


@pytest.mark.parametrize("tenant", ["Acme", "../acme", "", "a" * 49, "-acme", "a b"])
def test_tenant_ids_are_checked_with_a_clear_error(
    services: Services, tenant: str
) -> None:
    with pytest.raises(ApiKeyError, match="a tenant id is 1 to 48 characters"):
        services.api_keys.create("agent", tenant=tenant)
    with pytest.raises(TenantIdError, match=repr(tenant).replace("[", r"\[")):
        Services(services.settings, tenant=tenant)


def test_default_is_not_a_tenant_id(services: Services) -> None:
    """Keys without a tenant are listed as "(default)": a tenant named so
    would be a second, empty one."""
    with pytest.raises(ApiKeyError, match="leave the tenant out"):
        services.api_keys.create("agent", tenant="default")
    with pytest.raises(TenantIdError, match="leave the tenant out"):
        Services(services.settings, tenant="default")


def _run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_the_cli_works_on_the_tenant_it_is_given(
    capsys, tmp_path: Path, redactor, embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    data = str(tmp_path / "data")
    documents = tmp_path / "acme.jsonl"
    documents.write_text(
        "".join(json.dumps(d) + "\n" for d in ACME_DOCUMENTS), encoding="utf-8"
    )
    monkeypatch.delenv("CX_TENANT", raising=False)

    code, out, _ = _run(
        capsys,
        "--data-dir",
        data,
        "--tenant",
        "acme",
        "ingest",
        "knowledge",
        str(documents),
        "--json",
    )
    assert code == 0 and json.loads(out)["counts"]["added"] == 2

    asked = {
        tenant: _run(
            capsys,
            "--data-dir",
            data,
            "--tenant",
            tenant,
            "ask",
            "can I return my zebra umbrella?",
            "--json",
        )
        for tenant in ("acme", "globex")
    }
    assert ACME_DOC in asked["acme"][1]
    assert json.loads(asked["globex"][1])["abstained"] is True
    assert not _leaks(asked["globex"][1], "can I return my zebra umbrella?")

    monkeypatch.setenv("CX_TENANT", "acme")
    code, out, _ = _run(capsys, "--data-dir", data, "doctor", "--json")
    assert code == 0
    assert json.loads(out)["collections"]["knowledge"]["records"] == 2
    monkeypatch.delenv("CX_TENANT")
    code, out, _ = _run(capsys, "--data-dir", data, "doctor", "--json")
    assert code == 0
    assert json.loads(out)["collections"]["knowledge"]["records"] == 0

    code, _, err = _run(capsys, "--data-dir", data, "--tenant", "Bad/Name", "status")
    assert code == 1 and "--tenant" in err and "'Bad/Name'" in err

    # Keys are shared: one made under --tenant is listed without it.
    code, _, _ = _run(
        capsys,
        "--data-dir",
        data,
        "--tenant",
        "acme",
        "keys",
        "create",
        "--role",
        "agent",
        "--tenant",
        "acme",
        "--quiet",
    )
    assert code == 0
    code, out, _ = _run(capsys, "--data-dir", data, "keys", "list", "--json")
    assert [k["tenant"] for k in json.loads(out)["keys"]] == ["acme"]
