"""Several stateless workers on one PostgreSQL database and one Chroma server.

Everything runs for real: a `chroma run` server on a free loopback port,
PostgreSQL (a fresh database per test), the models. What one worker writes
(keys, knowledge, customers, chats) another serves.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from conftest import (
    DIALOGUES,
    GUIDELINES,
    _postgres_database,
    api_client,
    make_services,
)
from cx_context.knowledge.adapters import read_knowledge
from cx_context.knowledge.doctor import StoreDoctor

pytestmark = pytest.mark.integration


@dataclass
class ChromaServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> "chromadb.api.ClientAPI":
        return chromadb.HttpClient(
            host=self.host,
            port=self.port,
            settings=ChromaSettings(anonymized_telemetry=False),
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_chroma(folder: Path) -> ChromaServer:
    """Start `chroma run` and wait for its heartbeat (a busy port exits at once)."""
    port = _free_port()
    log = folder / "server.log"
    exe = Path(sys.executable).with_name("chroma")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(exe),
                "run",
                "--path",
                str(folder / "db"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited: {log.read_text()[-500:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return ChromaServer("127.0.0.1", port, process, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("chroma run: no heartbeat in 30 s")


def stop_chroma(server: ChromaServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = start_chroma(tmp_path_factory.mktemp("chroma"))
    yield server
    stop_chroma(server)


@pytest.fixture
def empty_chroma(chroma_server: ChromaServer) -> ChromaServer:
    """The session's server with no collections left by an earlier test."""
    client = chroma_server.client()
    for collection in client.list_collections():
        client.delete_collection(collection.name)
    return chroma_server


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (skipped when none answers, except under CI)."""
    yield from _postgres_database()


def test_two_workers_share_keys_records_and_vectors(
    empty_chroma: ChromaServer, postgres_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings = {
        "database_url": postgres_url,
        "chroma_host": empty_chroma.host,
        "chroma_port": empty_chroma.port,
    }
    first = make_services(tmp_path / "worker-1", **settings)
    second = make_services(tmp_path / "worker-2", **settings)
    documents = [
        parsed.record.model_dump(mode="json")
        for parsed in list(read_knowledge(GUIDELINES))[:12]
        if parsed.record
    ]
    from cx_context.context.customer_sources import read_customers
    from cx_context.knowledge.adapters import read_interactions

    customers = [
        p.record.model_dump(mode="json") for p in read_customers(DIALOGUES) if p.record
    ]
    chats = [
        p.record.model_dump(mode="json")
        for p in read_interactions(DIALOGUES)
        if p.record
    ]

    with api_client(first) as one:
        assert (
            one.post("/v1/knowledge", json={"documents": documents}).status_code == 200
        )
        assert (
            one.post("/v1/customers", json={"customers": customers}).status_code == 200
        )
        assert (
            one.post("/v1/interactions", json={"interactions": chats}).status_code
            == 200
        )
        key = first.api_keys.create("agent", label="made on worker 1")
        assert key.token is not None

    with api_client(second) as two:
        ready = two.get("/readyz").json()
        agent = {"Authorization": f"Bearer {key.token}"}
        answer = two.post(
            "/v1/answers",
            json={"question": "how do I get a refund for an item I returned?"},
            headers=agent,
        ).json()
        context = two.post(
            "/v1/context",
            json={
                "customer_id": "abcd-customer-3592",
                "question": "can I return jeans?",
            },
            headers=agent,
        )
        summary = two.get("/v1/interactions/abcd-3592/summary", headers=agent)

    assert ready["status"] == "ok" and ready["vector_store"] == "ok"
    assert ready["chunks"]["knowledge"] > 0 and ready["chunks"]["interactions"] > 0
    assert answer["abstained"] is False and answer["citations"]
    assert context.status_code == 200
    kinds = {item["kind"] for item in context.json()["items"]}
    assert {"identity", "case", "passage"} <= kinds
    assert summary.status_code == 200
    assert StoreDoctor(second.sessions, second.store).check().consistent
    assert second.engine.dialect.name == "postgresql"
    first.close()
    second.close()


def test_readiness_fails_when_the_chroma_server_is_gone(
    tmp_path, postgres_url: str
) -> None:  # type: ignore[no-untyped-def]
    server = start_chroma(tmp_path)
    services = make_services(
        tmp_path / "worker",
        database_url=postgres_url,
        chroma_host=server.host,
        chroma_port=server.port,
    )
    try:
        with api_client(services, "risk") as client:
            before = client.get("/readyz")
            stop_chroma(server)
            after = client.get("/readyz")
            alive = client.get("/healthz")
            risks = client.get("/v1/risks")
    finally:
        if server.process.poll() is None:
            stop_chroma(server)
        services.close()

    assert before.status_code == 200
    assert after.status_code == 503
    assert after.json()["vector_store"].startswith("error")
    assert after.json()["database"] == "ok"
    assert alive.status_code == 200
    assert risks.status_code == 200  # the record store still serves


def test_workers_starting_together_migrate_one_database_once(
    postgres_url: str,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine

    from cx_context.service.migrate import current_revision, migrate

    engines = [create_engine(postgres_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(migrate, engines))
        revisions = {current_revision(engine) for engine in engines}
    finally:
        for engine in engines:
            engine.dispose()

    assert len(revisions) == 1 and None not in revisions


def test_tenants_keep_apart_across_workers_on_chroma_server_and_postgresql(
    empty_chroma: ChromaServer, postgres_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from cx_context.service.wiring import Services

    settings = {
        "database_url": postgres_url,
        "chroma_host": empty_chroma.host,
        "chroma_port": empty_chroma.port,
    }
    first = make_services(tmp_path / "worker-1", **settings)
    second = make_services(tmp_path / "worker-2", **settings)
    # The session's Chroma server keeps tenants after this test: names of its own.
    acme, globex = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("acme", "globex"))
    # Workers meeting a new tenant together make its schema, Chroma tenant
    # and tables once.
    starting = [Services(first.settings, tenant=acme) for _ in range(3)]
    with ThreadPoolExecutor(len(starting)) as pool:
        list(pool.map(lambda s: (s.sessions, s.store), starting))
    for services in starting:
        services.close()
    documents = [
        parsed.record.model_dump(mode="json")
        for parsed in list(read_knowledge(GUIDELINES))[:6]
        if parsed.record
    ]
    question = {"question": "how do I get a refund for an item I returned?"}

    with api_client(first, "admin", tenant=acme) as one:
        stored = one.post("/v1/knowledge", json={"documents": documents})
        acme_key = first.api_keys.create("bot", tenant=acme)
        globex_key = first.api_keys.create("bot", tenant=globex)
    with api_client(second, "bot") as two:
        answers = {
            name: two.post(
                "/v1/answers",
                json=question,
                headers={"Authorization": f"Bearer {key.token}"},
            ).json()
            for name, key in (("acme", acme_key), ("globex", globex_key))
        }
        default = two.post("/v1/answers", json=question).json()

    assert stored.status_code == 200
    assert not answers["acme"]["abstained"] and answers["acme"]["citations"]
    assert answers["globex"]["abstained"] and not answers["globex"]["citations"]
    assert default["abstained"] and not default["citations"]
    server_default = {c.name for c in empty_chroma.client().list_collections()}
    acme_collections = chromadb.HttpClient(
        host=empty_chroma.host,
        port=empty_chroma.port,
        settings=ChromaSettings(anonymized_telemetry=False),
        tenant=f"cx-{acme}",
        database="cx-context",
    ).get_collection("knowledge")
    assert acme_collections.count() > 0
    assert not any(
        empty_chroma.client().get_collection(name).count()
        for name in server_default & {"knowledge", "knowledge_documents"}
    )
    first.close()
    second.close()
