"""Sentence support: how closely one sentence of an article matches a question.

A question about something an article covers usually finds one sentence (or
bullet) of it that says nearly the same thing; a question about a neighbouring
topic finds only sentences that share its subject. A whole passage about the
subject scores moderately for both, so the passage score alone cannot tell
them apart, while the best single sentence often can.
"""

import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import DocumentRow
from cx_context.knowledge.embedding import Embedder, Vectors
from cx_context.knowledge.questions import StoredQuestion

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9<])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def article_sentences(sections: Sequence[dict[str, Any]]) -> list[str]:
    """The sentences of an article's sections; every line and bullet is one."""
    out = []
    for section in sections:
        for raw in str(section.get("text", "")).splitlines():
            line = _BULLET.sub("", raw).strip()
            out += [piece.strip() for piece in _SENTENCE_END.split(line) if piece]
    return [sentence for sentence in out if sentence]


class SentenceVectors:
    """Each article's sentences, embedded once per content version.

    Only the articles asked for are embedded, so a report embeds the articles
    its questions retrieved, not the whole knowledge base. The vectors of an
    article deleted from the knowledge base stay in memory until the process
    restarts.
    """

    def __init__(self, embedder: Embedder, sessions: sessionmaker[Session]) -> None:
        self._embedder = embedder
        self._sessions = sessions
        # document id -> (content hash, one row per sentence)
        self._vectors: dict[str, tuple[str, Vectors]] = {}
        self._lock = threading.Lock()

    def of(self, document_ids: set[str]) -> dict[str, Vectors]:
        """The sentence vectors of the stored articles among `document_ids`."""
        if not document_ids:
            return {}
        with self._sessions() as session:
            versions = dict(
                session.execute(
                    select(DocumentRow.id, DocumentRow.content_hash).where(
                        DocumentRow.id.in_(document_ids)
                    )
                ).all()
            )
            with self._lock:
                stale = [
                    doc
                    for doc, version in versions.items()
                    if self._vectors.get(doc, ("", None))[0] != version
                ]
            rows = (
                session.execute(
                    select(
                        DocumentRow.id, DocumentRow.content_hash, DocumentRow.sections
                    ).where(DocumentRow.id.in_(stale))
                ).all()
                if stale
                else []
            )
        fresh = {}
        for row in rows:
            sentences = article_sentences(row.sections)
            fresh[row.id] = (row.content_hash, self._embedder.embed(sentences))
        with self._lock:
            self._vectors.update(fresh)
            return {
                doc: self._vectors[doc][1] for doc in versions if doc in self._vectors
            }


def sentence_support(
    questions: Sequence[StoredQuestion],
    vectors: Vectors,
    sentences: dict[str, Vectors],
) -> list[float]:
    """Per question, the similarity of the closest sentence of its first article.

    `vectors` are the questions' unit vectors, row for row; a question that
    retrieved nothing, or whose article has no sentences, is supported by
    nothing (0).
    """
    support = [0.0] * len(questions)
    by_article: dict[str, list[int]] = {}
    for index, question in enumerate(questions):
        if question.retrieved:
            by_article.setdefault(question.retrieved[0].document_id, []).append(index)
    for document_id, rows in by_article.items():
        article = sentences.get(document_id)
        if article is None or not len(article):
            continue
        best = (vectors[rows] @ article.T).max(axis=1)
        for row, value in zip(rows, best, strict=True):
            support[row] = float(value)
    return support


def unsupported(
    questions: Sequence[StoredQuestion],
    groups: Sequence[Sequence[int]],
    support: Sequence[float],
    answered: Sequence[bool],
) -> list[float]:
    """How far each group's sentence support falls below the answered questions'.

    The median support of the answered questions minus the group's mean, in
    units of their interquartile range (so it does not depend on the embedding
    model's scale): 0 for a group supported like a typical answered question,
    positive for one whose questions find no sentence as close.
    """
    kept = [s for s, a in zip(support, answered, strict=True) if a] or list(support)
    low, median, high = np.percentile(kept, [25, 50, 75])
    spread = max(float(high - low), 0.05)
    return [
        (float(median) - sum(support[i] for i in group) / len(group)) / spread
        for group in groups
    ]
