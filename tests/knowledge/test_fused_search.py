"""Fused dense search that reads only the passages it keeps, on a real Chroma store."""

from pathlib import Path

import numpy as np

from cx_context.knowledge.chunking import (
    Chunk,
    MetadataValue,
    chunk_id,
    document_vector_id,
)
from cx_context.knowledge.fused_search import fuse_scored, read_passages
from cx_context.knowledge.vectorstore import Collection, Scored, VectorStore


def _unit(values: list[float]) -> np.ndarray:
    vector = np.array(values + [0.0] * (8 - len(values)), dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _store(tmp_path: Path) -> VectorStore:
    store = VectorStore.persistent(tmp_path / "chroma")
    chunks, vectors = [], []
    # Two documents; sections of "refunds" lean on axis 0, "orders" on axis 1.
    for record, axis in (("kb:refunds", 0), ("kb:orders", 1)):
        for index in range(4):
            values = [0.1] * 3
            values[axis] = 1.0 - 0.1 * index
            metadata: dict[str, MetadataValue] = {
                "document_id": record,
                "record_id": record,
                "level": "section",
                "title": record,
                "section": f"step {index}",
            }
            if record == "kb:refunds" and index < 2:
                metadata["quarantined"] = True
            chunks.append(
                Chunk(
                    chunk_id(record, "h" * 12, index),
                    f"{record}\nstep {index}",
                    metadata,
                )
            )
            vectors.append(_unit(values))
        doc = [0.1] * 3
        doc[axis] = 1.0
        chunks.append(
            Chunk(
                document_vector_id(record, "h" * 12),
                record,
                {"document_id": record, "record_id": record, "level": "document"},
            )
        )
        vectors.append(_unit(doc))
    store.upsert(Collection.KNOWLEDGE, chunks, np.stack(vectors))
    return store


def test_a_section_takes_its_own_documents_score(tmp_path: Path) -> None:
    store = _store(tmp_path)
    query = _unit([1.0, 0.2])
    sections = store.nearest(Collection.KNOWLEDGE, query, 8)
    documents = store.nearest(Collection.KNOWLEDGE, query, 2, documents=True)
    assert all(not found.chunk_id.endswith(":doc") for found in sections)
    assert {found.chunk_id for found in documents} == {
        "kb:refunds:hhhhhhhhhhhh:doc",
        "kb:orders:hhhhhhhhhhhh:doc",
    }
    fused = fuse_scored(sections, documents, 0.6)
    by_doc = {d.chunk_id.split(":hh")[0]: d.score for d in documents}
    for candidate in fused:
        record = candidate.chunk_id.split(":hh")[0]
        assert candidate.document_score == by_doc[record]
        assert (
            abs(
                candidate.score - (0.6 * candidate.section_score + 0.4 * by_doc[record])
            )
            < 1e-9
        )
    assert [c.score for c in fused] == sorted((c.score for c in fused), reverse=True)


def test_a_document_outside_the_pool_scores_as_the_weakest_in_it() -> None:
    sections = [Scored("a:h:0000", 0.9), Scored("b:h:0000", 0.8)]
    documents = [Scored("a:h:doc", 0.7), Scored("c:h:doc", 0.2)]
    fused = {c.chunk_id: c for c in fuse_scored(sections, documents, 0.5)}
    assert fused["b:h:0000"].document_score == 0.2


def test_quarantined_passages_are_skipped_and_the_next_ones_read(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    query = _unit([1.0])
    sections = store.nearest(Collection.KNOWLEDGE, query, 8)
    documents = store.nearest(Collection.KNOWLEDGE, query, 2, documents=True)
    fused = fuse_scored(sections, documents, 0.6)
    # The two best passages are quarantined: the next ones take their place.
    assert fused[0].chunk_id.startswith("kb:refunds") and fused[0].chunk_id.endswith(
        "0000"
    )
    passages = read_passages(store, fused, 4)
    assert len(passages) == 4
    assert all(p.metadata.get("quarantined") is not True for p in passages)
    assert passages[0].chunk_id == chunk_id("kb:refunds", "h" * 12, 2)
    assert passages[0].body == "step 2"
    assert [p.score for p in passages] == sorted(
        (p.score for p in passages), reverse=True
    )
    assert "section_score" in passages[0].metadata


def test_fewer_passages_than_asked_when_the_store_has_no_more(tmp_path: Path) -> None:
    store = _store(tmp_path)
    query = _unit([1.0])
    fused = fuse_scored(
        store.nearest(Collection.KNOWLEDGE, query, 8),
        store.nearest(Collection.KNOWLEDGE, query, 2, documents=True),
        0.6,
    )
    assert len(read_passages(store, fused, 10)) == 6  # 8 sections, 2 quarantined
