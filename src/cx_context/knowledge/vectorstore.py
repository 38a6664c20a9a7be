"""Passages and their vectors in Chroma: knowledge and transcripts, one collection each.

Vectors are always computed by our own embedder and passed in; Chroma's
default embedding function (which downloads a model) is never used.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from cx_context.knowledge.chunking import Chunk, MetadataValue
from cx_context.knowledge.embedding import Vectors

logger = logging.getLogger(__name__)


class Collection(StrEnum):
    KNOWLEDGE = "knowledge"
    INTERACTIONS = "interactions"


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    text: str
    metadata: dict[str, MetadataValue]
    score: float  # cosine similarity, in [-1, 1]


class VectorStore:
    def __init__(self, client: Any, prefix: str = "") -> None:
        self._client = client
        self._collections = {
            kind: client.get_or_create_collection(
                name=f"{prefix}{kind.value}",
                embedding_function=None,
                metadata={"hnsw:space": "cosine"},
            )
            for kind in Collection
        }

    @classmethod
    def persistent(cls, path: Path) -> "VectorStore":
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return cls(client)

    @classmethod
    def http(cls, host: str, port: int) -> "VectorStore":
        client = chromadb.HttpClient(
            host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False)
        )
        return cls(client)

    def upsert(
        self, collection: Collection, chunks: Sequence[Chunk], vectors: Vectors
    ) -> None:
        if not chunks:
            return
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self._collections[collection].upsert(
            ids=[chunk.id for chunk in chunks],
            embeddings=vectors,
            documents=[chunk.text for chunk in chunks],
            metadatas=[_clean(chunk.metadata) for chunk in chunks],
        )

    def delete_other_versions(
        self, collection: Collection, record_id: str, content_hash: str
    ) -> int:
        """Remove a record's chunks from every version but the given one."""
        where = {
            "$and": [{"record_id": record_id}, {"content_hash": {"$ne": content_hash}}]
        }
        stale = self._collections[collection].get(where=where, include=[])["ids"]
        if stale:
            self._collections[collection].delete(ids=stale)
        return len(stale)

    def delete_ids(self, collection: Collection, ids: Sequence[str]) -> None:
        if ids:
            self._collections[collection].delete(ids=list(ids))

    def query(
        self,
        collection: Collection,
        vector: Vectors,
        k: int,
        where: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        result = self._collections[collection].query(
            query_embeddings=vector.reshape(1, -1),
            n_results=k,
            where=dict(where) if where else None,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result.get("documents") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        return [
            Hit(chunk_id, text or "", dict(metadata or {}), 1.0 - float(distance))
            for chunk_id, text, metadata, distance in zip(
                ids, documents, metadatas, distances, strict=True
            )
        ]

    def count(self, collection: Collection) -> int:
        return int(self._collections[collection].count())

    def get(self, collection: Collection, ids: Sequence[str]) -> list[Hit]:
        result = self._collections[collection].get(
            ids=list(ids), include=["documents", "metadatas"]
        )
        return [
            Hit(chunk_id, text or "", dict(metadata or {}), 1.0)
            for chunk_id, text, metadata in zip(
                result["ids"],
                result["documents"] or [],
                result["metadatas"] or [],
                strict=True,
            )
        ]

    def all(self, collection: Collection, batch: int = 1000) -> list[Hit]:
        """Every chunk of a collection, read in pages."""
        hits: list[Hit] = []
        offset = 0
        while True:
            page = self._collections[collection].get(
                include=["documents", "metadatas"], limit=batch, offset=offset
            )
            hits += [
                Hit(chunk_id, text or "", dict(metadata or {}), 1.0)
                for chunk_id, text, metadata in zip(
                    page["ids"],
                    page["documents"] or [],
                    page["metadatas"] or [],
                    strict=True,
                )
            ]
            if len(page["ids"]) < batch:
                return hits
            offset += batch

    def heartbeat(self) -> None:
        """Raise if the store cannot be reached."""
        self._client.heartbeat()


def _clean(metadata: Mapping[str, MetadataValue]) -> dict[str, MetadataValue]:
    # Chroma rejects empty lists and None; absent keys say the same thing.
    return {
        key: value
        for key, value in metadata.items()
        if value is not None and not (isinstance(value, list) and not value)
    }
