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
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError

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


@dataclass(frozen=True)
class Scored:
    """A chunk found by a query, before its text and metadata are read."""

    chunk_id: str
    score: float  # cosine similarity, in [-1, 1]


# Knowledge has two kinds of vector: one per passage (level "section") and one
# per document as a whole (level "document"). They live in separate Chroma
# collections, because a metadata filter on a large collection makes Chroma
# scan it: at 100,000 chunks a query filtered on the level took 360 ms where
# the same query on its own collection took 8 ms.
_DOCUMENTS = "knowledge_documents"
_DOCUMENT_LEVEL = "document"


class VectorStore:
    def __init__(self, client: Any, prefix: str = "") -> None:
        self._client = client

        def collection(name: str) -> Any:
            return client.get_or_create_collection(
                name=f"{prefix}{name}",
                embedding_function=None,
                metadata={"hnsw:space": "cosine"},
            )

        self._collections = {kind: collection(kind.value) for kind in Collection}
        self._documents = collection(_DOCUMENTS)
        self._move_document_vectors()

    def _physical(self, collection: Collection) -> list[Any]:
        """The Chroma collections holding a logical collection's chunks."""
        if collection is Collection.KNOWLEDGE:
            return [self._collections[collection], self._documents]
        return [self._collections[collection]]

    def _move_document_vectors(self) -> None:
        # Data directories written before the split keep document vectors
        # beside the passages; move them once, in pages.
        sections = self._collections[Collection.KNOWLEDGE]
        while True:
            page = sections.get(
                where={"level": _DOCUMENT_LEVEL},
                limit=1000,
                include=["embeddings", "documents", "metadatas"],
            )
            if not page["ids"]:
                return
            self._documents.upsert(
                ids=page["ids"],
                embeddings=page["embeddings"],
                documents=page["documents"],
                metadatas=page["metadatas"],
            )
            sections.delete(ids=page["ids"])
            logger.info(
                "moved %d document vectors to their collection", len(page["ids"])
            )

    @classmethod
    def persistent(cls, path: Path) -> "VectorStore":
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return cls(client)

    @classmethod
    def http(cls, host: str, port: int, tenant: str | None = None) -> "VectorStore":
        """A Chroma server's store: its default tenant, or a Chroma tenant of its own.

        A named tenant gets a Chroma tenant of that name with one database,
        both made on first use; its collections are invisible to every other
        tenant's client.
        """
        settings = ChromaSettings(anonymized_telemetry=False)
        if tenant is None:
            return cls(chromadb.HttpClient(host=host, port=port, settings=settings))
        _ensure_chroma_tenant(host, port, tenant)
        client = chromadb.HttpClient(
            host=host,
            port=port,
            settings=settings,
            tenant=tenant,
            database=TENANT_DATABASE,
        )
        return cls(client)

    def close(self) -> None:
        """Release the client (an on-disk store is closed once its last client is)."""
        close = getattr(self._client, "close", None)
        if callable(close):
            close()

    def upsert(
        self, collection: Collection, chunks: Sequence[Chunk], vectors: Vectors
    ) -> None:
        if not chunks:
            return
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        groups: dict[int, list[int]] = {}
        for position, chunk in enumerate(chunks):
            is_document = (
                collection is Collection.KNOWLEDGE
                and chunk.metadata.get("level") == _DOCUMENT_LEVEL
            )
            groups.setdefault(int(is_document), []).append(position)
        for documents, positions in groups.items():
            target = self._documents if documents else self._collections[collection]
            target.upsert(
                ids=[chunks[i].id for i in positions],
                embeddings=vectors[positions],
                documents=[chunks[i].text for i in positions],
                metadatas=[_clean(chunks[i].metadata) for i in positions],
            )

    def delete_other_versions(
        self, collection: Collection, record_id: str, content_hash: str
    ) -> int:
        """Remove a record's chunks from every version but the given one."""
        where = {
            "$and": [{"record_id": record_id}, {"content_hash": {"$ne": content_hash}}]
        }
        removed = 0
        for physical in self._physical(collection):
            stale = physical.get(where=where, include=[])["ids"]
            if stale:
                physical.delete(ids=stale)
            removed += len(stale)
        return removed

    def delete_ids(self, collection: Collection, ids: Sequence[str]) -> None:
        if ids:
            for physical in self._physical(collection):
                physical.delete(ids=list(ids))

    def query(
        self,
        collection: Collection,
        vector: Vectors,
        k: int,
        where: Mapping[str, Any] | None = None,
        documents: bool = False,
    ) -> list[Hit]:
        """The k nearest chunks; `documents` asks for whole-document vectors."""
        result = self._target(collection, documents).query(
            query_embeddings=vector.reshape(1, -1),
            n_results=k,
            where=dict(where) if where else None,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        texts = (result.get("documents") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        return [
            Hit(chunk_id, text or "", dict(metadata or {}), 1.0 - float(distance))
            for chunk_id, text, metadata, distance in zip(
                ids, texts, metadatas, distances, strict=True
            )
        ]

    def nearest(
        self,
        collection: Collection,
        vector: Vectors,
        k: int,
        where: Mapping[str, Any] | None = None,
        documents: bool = False,
    ) -> list[Scored]:
        """The ids of the k nearest chunks, with their scores, and nothing else.

        Reading texts and metadata costs more than the search itself (at
        100,000 chunks, 20 results with them took 6 ms, without them 2 ms), so
        callers that keep only a few results read those afterwards with `get`.
        """
        result = self._target(collection, documents).query(
            query_embeddings=vector.reshape(1, -1),
            n_results=k,
            where=dict(where) if where else None,
            include=["distances"],
        )
        distances = (result.get("distances") or [[]])[0]
        return [
            Scored(chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(result["ids"][0], distances, strict=True)
        ]

    def _target(self, collection: Collection, documents: bool) -> Any:
        if documents and collection is Collection.KNOWLEDGE:
            return self._documents
        return self._collections[collection]

    def count(self, collection: Collection) -> int:
        return sum(int(physical.count()) for physical in self._physical(collection))

    def get(
        self,
        collection: Collection,
        ids: Sequence[str],
        documents: bool | None = None,
    ) -> list[Hit]:
        """Chunks by id, in the order asked; `documents` narrows knowledge to
        passages (False) or document vectors (True), and None reads both."""
        hits: list[Hit] = []
        physicals = (
            self._physical(collection)
            if documents is None
            else [self._target(collection, documents)]
        )
        for physical in physicals:
            result = physical.get(ids=list(ids), include=["documents", "metadatas"])
            hits += _hits(result)
        order = {chunk_id: index for index, chunk_id in enumerate(ids)}
        return sorted(hits, key=lambda hit: order.get(hit.chunk_id, len(order)))

    def all(self, collection: Collection, batch: int = 1000) -> list[Hit]:
        """Every chunk of a collection, read in pages."""
        hits: list[Hit] = []
        for physical in self._physical(collection):
            offset = 0
            while True:
                page = physical.get(
                    include=["documents", "metadatas"], limit=batch, offset=offset
                )
                hits += _hits(page)
                if len(page["ids"]) < batch:
                    break
                offset += batch
        return hits

    def sections_with_vectors(self, batch: int = 1000) -> tuple[list[Hit], Vectors]:
        """Every knowledge passage (not document vectors) with its vector."""
        hits: list[Hit] = []
        vectors: list[Any] = []
        physical = self._collections[Collection.KNOWLEDGE]
        offset = 0
        while True:
            page = physical.get(
                include=["documents", "metadatas", "embeddings"],
                limit=batch,
                offset=offset,
            )
            hits += _hits(page)
            if len(page["ids"]):
                vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
            if len(page["ids"]) < batch:
                break
            offset += batch
        if not vectors:
            return hits, np.zeros((0, 0), dtype=np.float32)
        return hits, np.concatenate(vectors)

    def heartbeat(self) -> None:
        """Raise if the store cannot be reached."""
        self._client.heartbeat()


# The one Chroma database inside each tenant's Chroma tenant.
TENANT_DATABASE = "cx-context"


def _ensure_chroma_tenant(host: str, port: int, tenant: str) -> None:
    """Make a Chroma tenant and its database unless they exist.

    Two workers may make the same tenant at once: whichever loses finds it
    made and goes on.
    """
    admin = chromadb.AdminClient(
        ChromaSettings(
            anonymized_telemetry=False,
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=host,
            chroma_server_http_port=port,
        )
    )
    try:
        admin.get_tenant(tenant)
    except NotFoundError:
        try:
            admin.create_tenant(tenant)
        except ChromaError:
            admin.get_tenant(tenant)  # made meanwhile; raises if it truly failed
        logger.info("made Chroma tenant %s", tenant)
    try:
        admin.get_database(TENANT_DATABASE, tenant=tenant)
    except NotFoundError:
        try:
            admin.create_database(TENANT_DATABASE, tenant=tenant)
        except ChromaError:
            admin.get_database(TENANT_DATABASE, tenant=tenant)


def _hits(result: Mapping[str, Any]) -> list[Hit]:
    return [
        Hit(chunk_id, text or "", dict(metadata or {}), 1.0)
        for chunk_id, text, metadata in zip(
            result["ids"],
            result["documents"] or [],
            result["metadatas"] or [],
            strict=True,
        )
    ]


def _clean(metadata: Mapping[str, MetadataValue]) -> dict[str, MetadataValue]:
    # Chroma rejects empty lists and None; absent keys say the same thing.
    return {
        key: value
        for key, value in metadata.items()
        if value is not None and not (isinstance(value, list) and not value)
    }
