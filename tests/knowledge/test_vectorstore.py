"""The vector store: passages and whole-document vectors kept apart in Chroma."""

from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from cx_context.knowledge.chunking import Chunk
from cx_context.knowledge.vectorstore import Collection, VectorStore


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=(1, 384)).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _chunk(chunk_id: str, level: str) -> Chunk:
    return Chunk(
        chunk_id, f"text of {chunk_id}", {"record_id": "doc-1", "level": level}
    )


def test_document_vectors_are_queried_apart_from_passages(tmp_path: Path) -> None:
    store = VectorStore.persistent(tmp_path / "chroma")
    vectors = np.vstack([_unit(1), _unit(2), _unit(3)])
    store.upsert(
        Collection.KNOWLEDGE,
        [_chunk("s-1", "section"), _chunk("s-2", "section"), _chunk("d-1", "document")],
        vectors,
    )

    sections = store.query(Collection.KNOWLEDGE, _unit(3)[0], 10)
    documents = store.query(Collection.KNOWLEDGE, _unit(3)[0], 10, documents=True)

    assert sorted(hit.chunk_id for hit in sections) == ["s-1", "s-2"]
    assert [hit.chunk_id for hit in documents] == ["d-1"]
    assert store.count(Collection.KNOWLEDGE) == 3
    assert [h.chunk_id for h in store.get(Collection.KNOWLEDGE, ["d-1", "s-2"])] == [
        "d-1",
        "s-2",
    ]
    assert store.delete_other_versions(Collection.KNOWLEDGE, "doc-1", "new") == 3
    assert store.count(Collection.KNOWLEDGE) == 0


def test_a_data_directory_from_before_the_split_is_moved_once(tmp_path: Path) -> None:
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"),
        settings=ChromaSettings(anonymized_telemetry=False),
    )
    old = client.get_or_create_collection(
        "knowledge", embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    old.add(
        ids=["s-1", "d-1"],
        embeddings=np.vstack([_unit(1), _unit(2)]),
        documents=["passage", "document"],
        metadatas=[{"level": "section"}, {"level": "document"}],
    )

    store = VectorStore(client)

    assert old.get(include=[])["ids"] == ["s-1"]
    documents = store.query(Collection.KNOWLEDGE, _unit(2)[0], 5, documents=True)
    assert [hit.chunk_id for hit in documents] == ["d-1"]
    assert documents[0].score > 0.99
