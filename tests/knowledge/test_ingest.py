"""Ingestion into real SQLite and Chroma, with the real redactor and embedder."""

import json
from pathlib import Path

from sqlalchemy import select

from conftest import DIALOGUES, GUIDELINES
from cx_context.knowledge.adapters import read_interactions, read_knowledge
from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.database import DocumentRow, InteractionRow
from cx_context.knowledge.ingest import Outcome
from cx_context.knowledge.records import Interaction, KnowledgeDocument
from cx_context.knowledge.vectorstore import Collection


def _doc(doc_id: str, text: str, title: str = "Returns policy") -> dict[str, object]:
    return {
        "id": doc_id,
        "title": title,
        "source": "test",
        "body": [{"heading": "Refunds", "text": text}],
    }


def _interaction(record_id: str, *texts: str) -> dict[str, object]:
    speakers = ["customer", "agent"]
    return {
        "id": record_id,
        "channel": "chat",
        "source_system": "test",
        "turns": [{"speaker": speakers[i % 2], "text": t} for i, t in enumerate(texts)],
    }


def _parsed(model, records):  # type: ignore[no-untyped-def]
    return [validate(model, r, "test", i) for i, r in enumerate(records, start=1)]


def test_ingesting_the_same_input_twice_adds_nothing(services) -> None:  # type: ignore[no-untyped-def]
    first = services.ingestor.ingest_documents(read_knowledge(GUIDELINES))
    chunks = services.store.count(Collection.KNOWLEDGE)
    second = services.ingestor.ingest_documents(read_knowledge(GUIDELINES))

    assert first.counts == {"added": 55, "unchanged": 0, "replaced": 0, "rejected": 0}
    assert second.counts == {"added": 0, "unchanged": 55, "replaced": 0, "rejected": 0}
    assert second.chunks_written == 0
    assert services.store.count(Collection.KNOWLEDGE) == chunks == first.chunks_written


def test_a_changed_document_replaces_its_old_chunks(services) -> None:  # type: ignore[no-untyped-def]
    old = "Refunds are accepted within 30 days of delivery."
    new = "Refunds are accepted within 14 days of delivery. " * 40  # several chunks
    services.ingestor.ingest_documents(
        _parsed(KnowledgeDocument, [_doc("policy-1", old)])
    )
    report = services.ingestor.ingest_documents(
        _parsed(KnowledgeDocument, [_doc("policy-1", new)])
    )

    assert report.counts["replaced"] == 1
    assert report.chunks_removed == 2  # one section chunk and the document chunk
    stored = services.store.all(Collection.KNOWLEDGE)
    assert len(stored) == report.chunks_written
    assert not any("30 days" in hit.text for hit in stored)
    hashes = {hit.metadata["content_hash"] for hit in stored}
    assert len(hashes) == 1


def test_bad_records_are_rejected_with_their_position_and_the_good_ones_land(
    services,
) -> None:  # type: ignore[no-untyped-def]
    records = [
        _interaction(
            "good-1", "My parcel never arrived.", "I will check that for you."
        ),
        {
            **_interaction("bad-speaker", "hello"),
            "turns": [{"speaker": "robot", "text": "hi"}],
        },
        {
            **_interaction("no-text", "x"),
            "turns": [{"speaker": "customer", "text": "   "}],
        },
        {**_interaction("no-turns", "x"), "turns": []},
        {**_interaction("bad-channel", "x"), "channel": "fax"},
        _interaction("good-2", "Can I change my delivery address?", "Yes, done."),
    ]
    report = services.ingestor.ingest_interactions(_parsed(Interaction, records))

    assert report.counts == {"added": 2, "unchanged": 0, "replaced": 0, "rejected": 4}
    problems = {p.position: p.problem for p in report.problems}
    assert set(problems) == {2, 3, 4, 5}
    assert problems[2].startswith("turns.0.speaker: Input should be")
    assert problems[3].startswith(
        "turns.0.text: String should have at least 1 character"
    )
    assert problems[4].startswith("turns: List should have at least 1 item")
    assert problems[5].startswith("channel: Input should be")
    with services.sessions() as session:
        ids = set(session.scalars(select(InteractionRow.id)))
    assert ids == {"good-1", "good-2"}
    stored_ids = {
        hit.metadata["record_id"] for hit in services.store.all(Collection.INTERACTIONS)
    }
    assert stored_ids == {"good-1", "good-2"}


def test_an_over_long_text_is_rejected_and_nothing_of_it_is_written(
    tmp_path, redactor, embedder
) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_services

    services = make_services(tmp_path / "data", max_text_chars=100)
    report = services.ingestor.ingest_interactions(
        _parsed(Interaction, [_interaction("long-1", "fine", "x" * 101)])
    )

    assert report.counts["rejected"] == 1
    assert (
        report.problems[0].problem
        == "turns.1.text: text is 101 characters, the limit is 100"
    )
    assert services.store.count(Collection.INTERACTIONS) == 0
    assert services.catalog.counts()["interactions"] == 0
    services.close()


def test_a_duplicate_id_in_one_input_is_rejected(services) -> None:  # type: ignore[no-untyped-def]
    records = [
        _interaction("dup-1", "first version"),
        _interaction("dup-1", "second version"),
    ]
    report = services.ingestor.ingest_interactions(_parsed(Interaction, records))

    assert [r.outcome for r in report.records] == [Outcome.ADDED, Outcome.REJECTED]
    assert "record 1 of this input" in (report.problems[0].problem or "")


def test_transcripts_are_stored_redacted_with_the_removed_entity_types(
    services,
) -> None:  # type: ignore[no-untyped-def]
    report = services.ingestor.ingest_interactions(read_interactions(DIALOGUES))
    assert report.counts["added"] == 5

    chunks = services.store.all(Collection.INTERACTIONS)
    first = [c for c in chunks if c.metadata["record_id"] == "abcd-3592"]
    assert first, "the dialogue has chunks"
    types = set().union(*(set(c.metadata.get("pii_types", [])) for c in first))
    assert {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "ORDER_ID", "USERNAME"} <= types
    text = "\n".join(c.text for c in first)
    assert "cminh730" not in text.casefold()
    assert "<EMAIL_ADDRESS_1>" in text
    assert "[5] customer: <PERSON_1>" in text  # turn numbers and speakers kept

    with services.sessions() as session:
        row = session.get(InteractionRow, "abcd-3592")
        assert row is not None
        assert row.identifier_kinds == sorted(row.identifier_kinds)
        assert "email" in row.identifier_kinds
        assert "cminh730" not in json.dumps(row.turns)


def test_a_file_that_cannot_be_read_is_reported_not_raised(
    services, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.json"
    broken.write_text(
        '[{"convo_id": 1, "original": [["agent", "hi"]]}'
    )  # no closing bracket
    report = services.ingestor.ingest_interactions(
        read_interactions(broken), broken.name
    )

    assert report.source_error is not None
    assert "broken.json: invalid JSON at line 1" in report.source_error
    assert not report.ok


def test_documents_keep_their_sections_and_metadata(services) -> None:  # type: ignore[no-untyped-def]
    services.ingestor.ingest_documents(read_knowledge(GUIDELINES))
    with services.sessions() as session:
        row = session.get(DocumentRow, "abcd-product-defect-initiate-refund")
        assert row is not None
        assert row.title == "Product Defect: Initiate Refund"
        assert row.summary == "refunds and returns"
        assert row.sections[0]["heading"] == "Overview"
        assert row.chunk_count == len(row.sections) + 1


def test_an_interaction_dated_in_the_future_is_rejected(services) -> None:  # type: ignore[no-untyped-def]
    from cx_context.knowledge.adapters.base import validate
    from cx_context.knowledge.records import Interaction

    future = {
        "id": "late-1",
        "channel": "chat",
        "source_system": "web",
        "started_at": "2099-01-01T00:00:00Z",
        "turns": [{"speaker": "customer", "text": "hello"}],
    }
    report = services.ingestor.ingest_interactions(
        [validate(Interaction, future, "f.jsonl", 1, "line")], "f.jsonl"
    )

    [problem] = report.problems
    assert "started_at is in the future" in (problem.problem or "")


def test_a_voice_call_keeps_no_spoken_postcode_or_birth_date(services) -> None:  # type: ignore[no-untyped-def]
    call = {
        "id": "call-1",
        "channel": "voice",
        "source_system": "ivr",
        "turns": [
            {"speaker": "bot", "text": "Please tell me your postcode."},
            {"speaker": "customer", "text": "t for Tommy Q for Queen 6 R 4 S"},
            {"speaker": "bot", "text": "And what is your date of birth?"},
            {"speaker": "customer", "text": "26th of April 1929"},
            {
                "speaker": "agent",
                "text": "Thanks, I can see the parcel. How can I help?",
            },
            {"speaker": "customer", "text": "it has not arrived and I need a refund"},
        ],
    }

    report = services.ingestor.ingest_interactions(_parsed(Interaction, [call]))

    assert report.counts["added"] == 1
    chunks = services.store.all(Collection.INTERACTIONS)
    stored = "\n".join(c.text for c in chunks if c.metadata["record_id"] == "call-1")
    with services.sessions() as session:
        row = session.get(InteractionRow, "call-1")
        assert row is not None
        stored += json.dumps(row.turns)
    for spoken in ("Tommy", "Queen", "1929", "April"):
        assert spoken not in stored
    assert "<POSTCODE_1>" in stored and "<DATE_OF_BIRTH_1>" in stored
    assert "need a refund" in stored


def test_concurrent_ingests_of_one_id_leave_one_whole_version(record_services) -> None:  # type: ignore[no-untyped-def]
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cx_context.knowledge.doctor import StoreDoctor

    services = record_services
    writers = 10
    start = threading.Barrier(writers)

    def ingest(n: int):  # type: ignore[no-untyped-def]
        record = _interaction(
            "race-1",
            f"Hello, my order {n} arrived broken.",
            f"Sorry about that, version {n}: a replacement is on its way.",
        )
        parsed = _parsed(Interaction, [record])
        start.wait()
        return services.ingestor.ingest_interactions(parsed)

    with ThreadPoolExecutor(writers) as pool:
        reports = list(pool.map(ingest, range(writers)))

    outcomes = [r.records[0].outcome for r in reports]
    assert outcomes.count(Outcome.ADDED) == 1, outcomes
    assert outcomes.count(Outcome.REPLACED) == writers - 1, outcomes
    check = StoreDoctor(services.sessions, services.store).check()
    assert check.consistent, check.to_dict()
    with services.sessions() as session:
        row = session.get(InteractionRow, "race-1")
    assert row is not None
    hits = [
        h
        for h in services.store.all(Collection.INTERACTIONS)
        if h.metadata.get("record_id") == "race-1"
    ]
    assert len(hits) == row.chunk_count > 0
    assert {h.metadata["content_hash"] for h in hits} == {row.content_hash}
