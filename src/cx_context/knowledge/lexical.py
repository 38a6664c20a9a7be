"""A BM25 ranker over the knowledge passages, beside the dense one.

Dense vectors find paraphrases; BM25 finds the rare exact words (a plan code,
a street, a dish) that a small embedding model blurs. The index is built in
memory from the passages in the vector store and rebuilt when their number
changes, so it never disagrees with Chroma about what exists.
"""

import logging
import re
import threading
from collections.abc import Callable, Sequence
from collections.abc import Collection as Collection_
from dataclasses import dataclass

import bm25s
import numpy as np

from cx_context.knowledge.chunking import MetadataValue
from cx_context.knowledge.vectorstore import Collection, Hit, VectorStore

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yes",
        "no",
        "please",
        "know",
        "tell",
        "about",
        "any",
        "also",
        "just",
        "like",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-case words without stop words, plural "s" cut from longer words."""
    words = _TOKEN.findall(text.lower())
    return [
        w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w
        for w in words
        if w not in _STOP
    ]


@dataclass(frozen=True)
class LexicalHit:
    hit: Hit
    score: float  # BM25, unbounded; only its order means much


class LexicalIndex:
    """BM25 over a fixed list of passages (the knowledge sections)."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)
        self._bm25 = bm25s.BM25()
        corpus = [tokens(hit.text) or ["_empty_"] for hit in self.hits]
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        self._documents = np.array(
            [str(hit.metadata.get("document_id", "")) for hit in self.hits],
            dtype=object,
        )

    def __len__(self) -> int:
        return len(self.hits)

    def search(
        self,
        query: str,
        k: int,
        keep: Callable[[dict[str, MetadataValue]], bool] | None = None,
        documents: Collection_[str] | None = None,
    ) -> list[LexicalHit]:
        """The k best passages with a positive score that `keep` accepts.

        `documents`, when given, keeps only the passages of those documents.
        """
        words = tokens(query)
        if not self.hits or not words:
            return []
        scores = np.asarray(self._bm25.get_scores(words), dtype=np.float64)
        if documents is not None:
            scores = np.where(np.isin(self._documents, list(documents)), scores, 0.0)
        if keep is not None:
            allowed = np.fromiter(
                (keep(hit.metadata) for hit in self.hits), bool, len(self.hits)
            )
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [
            LexicalHit(self.hits[i], float(scores[i])) for i in top if scores[i] > 0
        ]


class LexicalIndexCache:
    """The knowledge BM25 index, rebuilt when the store's passages change in number."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None
        self._count = -1

    def get(self) -> LexicalIndex:
        count = self._store.count(Collection.KNOWLEDGE)
        with self._lock:
            if self._index is None or count != self._count:
                sections = [
                    hit
                    for hit in self._store.all(Collection.KNOWLEDGE)
                    if hit.metadata.get("level") != "document"
                    and hit.metadata.get("quarantined") is not True
                ]
                self._index = LexicalIndex(sections)
                self._count = count
                logger.info("lexical index built over %d passages", len(sections))
            return self._index
