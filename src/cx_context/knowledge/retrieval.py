"""Finding the knowledge passages that bear on a question."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cx_context.knowledge.chunking import MetadataValue
from cx_context.knowledge.embedding import Embedder, Vectors
from cx_context.knowledge.errors import UnknownFilterError
from cx_context.knowledge.vectorstore import Collection, Hit, VectorStore

# filter name -> (metadata key, whether the metadata value is a list)
FILTERS: dict[str, tuple[str, bool]] = {
    "source": ("source", False),
    "audience": ("audience", False),
    "owner": ("owner", False),
    "document_id": ("document_id", False),
    "tag": ("tags", True),
    # A knowledge document is about the entity its title names.
    "entity": ("title", False),
}

FilterValue = str | Sequence[str]


@dataclass(frozen=True)
class Passage:
    """A retrieved knowledge passage: where it came from and how well it matched."""

    chunk_id: str
    document_id: str
    title: str
    section: str
    text: str
    score: float
    metadata: dict[str, MetadataValue]

    @property
    def body(self) -> str:
        """The passage without the title line that was added for embedding."""
        return self.text.split("\n", 1)[1] if "\n" in self.text else self.text

    @classmethod
    def from_hit(cls, hit: Hit) -> "Passage":
        return cls(
            chunk_id=hit.chunk_id,
            document_id=str(hit.metadata.get("document_id", "")),
            title=str(hit.metadata.get("title", "")),
            section=str(hit.metadata.get("section", "")),
            text=hit.text,
            score=hit.score,
            metadata=hit.metadata,
        )


def _checked(filters: Mapping[str, FilterValue]) -> list[tuple[str, bool, list[str]]]:
    """(metadata key, is a list, accepted values) per filter; bad filters are named."""
    checked = []
    for name, value in filters.items():
        if name not in FILTERS:
            raise UnknownFilterError(
                f"unknown filter {name!r}; "
                f"allowed filters are {', '.join(sorted(FILTERS))}"
            )
        key, is_list = FILTERS[name]
        values = [value] if isinstance(value, str) else list(value)
        if not values or not all(isinstance(v, str) and v for v in values):
            raise UnknownFilterError(
                f"filter {name!r} needs one or more non-empty strings"
            )
        checked.append((key, is_list, values))
    return checked


def matches_filters(
    metadata: Mapping[str, MetadataValue], filters: Mapping[str, FilterValue] | None
) -> bool:
    """Whether chunk metadata passes the filters, as `build_where` does in Chroma."""
    for key, is_list, values in _checked(filters or {}):
        held = metadata.get(key)
        if is_list:
            items = held if isinstance(held, list) else []
            if not any(v in items for v in values):
                return False
        elif held not in values:
            return False
    return True


def build_where(filters: Mapping[str, FilterValue] | None) -> dict[str, Any] | None:
    """Translate user filters into a Chroma `where` clause; unknown names are errors."""
    if not filters:
        return None
    clauses: list[dict[str, Any]] = []
    for key, is_list, values in _checked(filters):
        options: list[dict[str, Any]] = (
            [{key: {"$contains": v}} for v in values]
            if is_list
            else [{key: v} for v in values]
        )
        clauses.append(options[0] if len(options) == 1 else {"$or": options})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever:
    """Dense retrieval of sections, weighted by how well their document matches.

    A section's score is `section_weight * sim(question, section) +
    (1 - section_weight) * sim(question, document)`, where the document vector
    stands for its title, summary and opening. Short sections (one step of a
    procedure) say little on their own; their document says which procedure
    they belong to.
    """

    def __init__(
        self, embedder: Embedder, store: VectorStore, section_weight: float = 0.6
    ) -> None:
        if not 0.0 <= section_weight <= 1.0:
            raise ValueError(f"section_weight must be in [0, 1], got {section_weight}")
        self._embedder = embedder
        self._store = store
        self._section_weight = section_weight

    @property
    def section_weight(self) -> float:
        return self._section_weight

    def embed_query(self, query: str) -> Vectors:
        vector: Vectors = self._embedder.embed([query])[0]
        return vector

    def search(
        self, query: str, k: int = 5, filters: Mapping[str, FilterValue] | None = None
    ) -> list[Passage]:
        return self.search_vector(self.embed_query(query), k, filters)

    def search_vector(
        self,
        vector: Vectors,
        k: int = 5,
        filters: Mapping[str, FilterValue] | None = None,
    ) -> list[Passage]:
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        where = build_where(filters)
        size = self.pool_size(k)
        sections = self._store.query(Collection.KNOWLEDGE, vector, size, where)
        documents = self._store.query(
            Collection.KNOWLEDGE, vector, size, where, documents=True
        )
        return self.fuse(sections, documents, k)

    @staticmethod
    def pool_size(k: int) -> int:
        """How many sections and documents each query fetches, for k passages."""
        return max(4 * k, 20)

    def fuse(self, sections: list[Hit], documents: list[Hit], k: int) -> list[Passage]:
        """The k best passages from a section query and a document query.

        For callers that run the two queries themselves (side by side).
        """
        # Chunks the injection screen flagged at ingest never leave the store.
        # Filtering after the query keeps the chunks stored before the flag
        # existed, which have no such key.
        sections = [
            hit for hit in sections if hit.metadata.get("quarantined") is not True
        ]
        documents = [
            hit for hit in documents if hit.metadata.get("quarantined") is not True
        ]
        document_score = {
            str(hit.metadata.get("document_id")): hit.score for hit in documents
        }
        # A document outside the pool scores no better than the weakest one in it.
        floor = min(document_score.values(), default=0.0)
        weight = self._section_weight
        passages = []
        for hit in sections:
            doc = document_score.get(str(hit.metadata.get("document_id")), floor)
            fused = weight * hit.score + (1.0 - weight) * doc
            metadata = {
                **hit.metadata,
                "section_score": round(hit.score, 4),
                "document_score": round(doc, 4),
            }
            passages.append(
                Passage.from_hit(Hit(hit.chunk_id, hit.text, metadata, fused))
            )
        passages.sort(key=lambda passage: passage.score, reverse=True)
        return passages[:k]
