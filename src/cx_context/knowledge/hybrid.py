"""Hybrid retrieval: dense and BM25 rankings fused, the conversation's entity first.

For one query, up to four rankings of the knowledge passages are made, each
under the same metadata filters:

- dense (the `Retriever`: section and document vectors) over everything;
- BM25 over everything;
- when the conversation names entities the knowledge base knows, dense and
  BM25 again over those entities' documents alone.

They are fused by reciprocal rank (a passage's score is the sum over the
rankings of `weight / (rrf_k + rank)`), the entity rankings weighing more, and
the fused list is thinned by maximal marginal relevance so that near-copies
of one passage do not fill the top. The result also carries the signals the
"can answer" score reads: how similar the best passages are and how much the
two rankers agree.
"""

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from cx_context.knowledge.conversation import ConversationQuery
from cx_context.knowledge.embedding import Vectors
from cx_context.knowledge.entities import EntityIndex
from cx_context.knowledge.lexical import (
    LexicalHit,
    LexicalIndex,
    LexicalIndexCache,
    tokens,
)
from cx_context.knowledge.retrieval import (
    FilterValue,
    Passage,
    Retriever,
    matches_filters,
)
from cx_context.knowledge.vectorstore import Hit, VectorStore

logger = logging.getLogger(__name__)

_AGREEMENT_DEPTH = 5


@dataclass(frozen=True)
class HybridConfig:
    pool: int = 30  # candidates each ranking contributes
    rrf_k: int = 60
    dense_weight: float = 1.0
    # BM25 finds rare exact words but ranks loosely; at equal weight it pushed
    # passages the dense ranker placed first out of the top five (chosen on
    # 200 turns of the DSTC11 development side: recall@5 0.745 at 1.0, 0.80 at
    # 0.3).
    lexical_weight: float = 0.3
    # How much a ranking restricted to the conversation's entities counts,
    # against one over all passages.
    entity_weight: float = 3.0
    mmr_lambda: float = 0.8  # 1.0: relevance only; lower: more diversity

    def __post_init__(self) -> None:
        if self.pool <= 0:
            raise ValueError(f"pool must be > 0, got {self.pool}")
        if self.rrf_k < 0:
            raise ValueError(f"rrf_k must be >= 0, got {self.rrf_k}")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1], got {self.mmr_lambda}")


@dataclass(frozen=True)
class Signals:
    """What the rankers saw, for deciding whether the passages can answer."""

    best_dense: float | None  # best fused dense similarity over all passages
    best_entity_dense: float | None  # the same within the conversation's entities
    best_lexical: float  # best BM25 score (0 when no word matched)
    agreement: float  # share of the dense top 5 also in the BM25 top 5
    top_agrees: bool  # both rankers put the same passage first
    entity_found: bool
    entity_in_question: bool
    question_words: int


@dataclass(frozen=True)
class HybridResult:
    query: ConversationQuery
    passages: list[Passage]
    signals: Signals
    dense: list[Passage] = field(default_factory=list)  # the dense ranking alone
    lexical: list[Passage] = field(default_factory=list)  # the BM25 ranking alone


def entity_index(index: LexicalIndex) -> EntityIndex:
    """The entities the passages are about: their documents' titles."""
    return EntityIndex(
        (str(hit.metadata.get("title", "")), str(hit.metadata.get("document_id", "")))
        for hit in index.hits
    )


class HybridRetriever:
    def __init__(
        self,
        retriever: Retriever,
        lexical: LexicalIndex,
        entities: EntityIndex | None = None,
        config: HybridConfig | None = None,
    ) -> None:
        self._retriever = retriever
        self._lexical = lexical
        self.entities = entities if entities is not None else entity_index(lexical)
        self.config = config or HybridConfig()

    def query(self, question: str) -> ConversationQuery:
        return ConversationQuery.from_question(question, self.entities)

    def search(
        self,
        query: ConversationQuery | str,
        k: int = 5,
        filters: Mapping[str, FilterValue] | None = None,
        vector: Vectors | None = None,
    ) -> HybridResult:
        """The k best passages; `vector`, if given, is the embedded `query.text()`."""
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        if isinstance(query, str):
            query = self.query(query)
        c = self.config
        filters = dict(filters or {})
        matches_filters({}, filters)  # an unknown filter is an error before any work
        text = query.text()
        if vector is None:
            vector = self._retriever.embed_query(text)

        dense = self._retriever.search_vector(vector, c.pool, filters)
        lexical = self._lexical_ranking(text, filters, None)
        rankings: list[tuple[float, list[Passage]]] = [
            (c.dense_weight, dense),
            (c.lexical_weight, lexical),
        ]
        entity_dense: list[Passage] = []
        documents = query.document_ids
        # A caller's own document filter already says where to look.
        if documents and "document_id" not in filters:
            within = {**filters, "document_id": list(documents)}
            entity_dense = self._retriever.search_vector(vector, c.pool, within)
            entity_lexical = self._lexical_ranking(text, filters, documents)
            rankings += [
                (c.entity_weight * c.dense_weight, entity_dense),
                (c.entity_weight * c.lexical_weight, entity_lexical),
            ]
        fused = self._fuse(rankings)
        passages = self._diverse(fused, k)
        signals = _signals(query, dense, entity_dense, lexical)
        return HybridResult(query, passages, signals, dense[:k], lexical[:k])

    def _lexical_ranking(
        self,
        text: str,
        filters: Mapping[str, FilterValue],
        documents: tuple[str, ...] | None,
    ) -> list[Passage]:
        keep = (lambda m: matches_filters(m, filters)) if filters else None
        hits = self._lexical.search(text, self.config.pool, keep, documents)
        return [_lexical_passage(hit) for hit in hits]

    def _fuse(self, rankings: list[tuple[float, list[Passage]]]) -> list[Passage]:
        rrf: dict[str, float] = {}
        dense_score: dict[str, float] = {}
        lexical_score: dict[str, float] = {}
        first: dict[str, Passage] = {}
        for weight, ranking in rankings:
            for rank, passage in enumerate(ranking, start=1):
                key = passage.chunk_id
                rrf[key] = rrf.get(key, 0.0) + weight / (self.config.rrf_k + rank)
                if "lexical_score" in passage.metadata:
                    lexical_score[key] = _number(passage, "lexical_score")
                else:
                    dense_score[key] = passage.score
                # A dense passage carries its similarity; prefer it over a BM25 copy.
                if key not in first or (
                    "lexical_score" in first[key].metadata
                    and "lexical_score" not in passage.metadata
                ):
                    first[key] = passage
        # A passage only BM25 found is taken to be no closer than the weakest
        # dense candidate: its similarity is not known without embedding it.
        floor = min(dense_score.values(), default=0.0)
        fused = []
        for key, score in rrf.items():
            passage = first[key]
            metadata = {
                **passage.metadata,
                "rrf_score": round(score, 6),
                "dense_score": round(dense_score.get(key, floor), 4),
                "lexical_score": round(lexical_score.get(key, 0.0), 4),
            }
            fused.append(
                Passage(
                    passage.chunk_id,
                    passage.document_id,
                    passage.title,
                    passage.section,
                    passage.text,
                    dense_score.get(key, floor),
                    metadata,
                )
            )
        fused.sort(key=lambda p: _number(p, "rrf_score"), reverse=True)
        return fused

    def _diverse(self, fused: list[Passage], k: int) -> list[Passage]:
        """Maximal marginal relevance over the fused list, words as the similarity."""
        if not fused:
            return []
        lam = self.config.mmr_lambda
        top = _number(fused[0], "rrf_score")
        words = [frozenset(tokens(p.body)) for p in fused]
        chosen: list[int] = []
        remaining = list(range(len(fused)))
        while remaining and len(chosen) < k:

            def value(i: int) -> float:
                relevance = _number(fused[i], "rrf_score") / top
                overlap = max(
                    (_jaccard(words[i], words[j]) for j in chosen), default=0.0
                )
                return lam * relevance - (1.0 - lam) * overlap

            best = max(remaining, key=value)
            chosen.append(best)
            remaining.remove(best)
        return [fused[i] for i in chosen]


def _lexical_passage(hit: LexicalHit) -> Passage:
    metadata = {**hit.hit.metadata, "lexical_score": round(hit.score, 4)}
    return Passage.from_hit(Hit(hit.hit.chunk_id, hit.hit.text, metadata, 0.0))


def _number(passage: Passage, key: str) -> float:
    value = passage.metadata.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _signals(
    query: ConversationQuery,
    dense: list[Passage],
    entity_dense: list[Passage],
    lexical: list[Passage],
) -> Signals:
    top_dense = [p.chunk_id for p in dense[:_AGREEMENT_DEPTH]]
    top_lexical = {p.chunk_id for p in lexical[:_AGREEMENT_DEPTH]}
    agreement = (
        sum(c in top_lexical for c in top_dense) / len(top_dense) if top_dense else 0.0
    )
    return Signals(
        best_dense=dense[0].score if dense else None,
        best_entity_dense=entity_dense[0].score if entity_dense else None,
        best_lexical=_number(lexical[0], "lexical_score") if lexical else 0.0,
        agreement=agreement,
        top_agrees=bool(dense and lexical and dense[0].chunk_id == lexical[0].chunk_id),
        entity_found=bool(query.entities),
        entity_in_question=query.entity_source == "question",
        question_words=len(query.question.split()),
    )


class HybridRetrievers:
    """The hybrid retriever over the store's passages as they are now.

    Its BM25 index and entity names are rebuilt when the number of passages
    in the store changes. An edit that keeps the number (a section reworded
    in place) is not seen by BM25 until the next change of number or restart.
    """

    def __init__(
        self,
        retriever: Retriever,
        store: VectorStore,
        config: HybridConfig | None = None,
    ) -> None:
        self._retriever = retriever
        self._indexes = LexicalIndexCache(store)
        self._config = config
        self._current: tuple[LexicalIndex, HybridRetriever] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> HybridRetriever:
        index = self._indexes.get()
        with self._lock:
            if self._current is None or self._current[0] is not index:
                hybrid = HybridRetriever(self._retriever, index, None, self._config)
                self._current = (index, hybrid)
            return self._current[1]
