"""Dense passage search that reads from the store only the passages it keeps.

A passage's score fuses its own similarity with its document's (see
`Retriever`). Ranking needs only ids and scores: a section's document vector
is named by the section's id. So the section and document queries ask for ids
alone, and texts and metadata are read afterwards for the few passages that
make the cut; at 100,000 chunks that halves the time of the queries.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from cx_context.knowledge.chunking import document_vector_of
from cx_context.knowledge.retrieval import Passage
from cx_context.knowledge.vectorstore import Collection, Hit, Scored, VectorStore

# Passages read per page: the k wanted and a few more, for any quarantined.
_SPARE = 3


@dataclass(frozen=True)
class Candidate:
    chunk_id: str
    score: float  # the fused score
    section_score: float
    document_score: float


def fuse_scored(
    sections: Sequence[Scored], documents: Sequence[Scored], section_weight: float
) -> list[Candidate]:
    """Sections ranked by `w * sim(section) + (1 - w) * sim(its document)`.

    A document outside the pool scores no better than the weakest one in it.
    """
    document_score = {found.chunk_id: found.score for found in documents}
    floor = min(document_score.values(), default=0.0)
    fused = []
    for found in sections:
        document = document_score.get(document_vector_of(found.chunk_id), floor)
        score = section_weight * found.score + (1.0 - section_weight) * document
        fused.append(Candidate(found.chunk_id, score, found.score, document))
    fused.sort(key=lambda candidate: candidate.score, reverse=True)
    return fused


def read_passages(
    store: VectorStore, candidates: Sequence[Candidate], k: int
) -> list[Passage]:
    """The k best candidates, read from the store, leaving out quarantined ones.

    Chunks the injection screen flagged at ingest never leave the store; a
    page that loses some to quarantine is followed by the next.
    """
    passages: list[Passage] = []
    start = 0
    while len(passages) < k and start < len(candidates):
        page = candidates[start : start + k - len(passages) + _SPARE]
        start += len(page)
        hits = {
            hit.chunk_id: hit
            for hit in store.get(
                Collection.KNOWLEDGE, [c.chunk_id for c in page], documents=False
            )
        }
        for candidate in page:
            hit = hits.get(candidate.chunk_id)
            if hit is None or hit.metadata.get("quarantined") is True:
                continue
            metadata = {
                **hit.metadata,
                "section_score": round(candidate.section_score, 4),
                "document_score": round(candidate.document_score, 4),
            }
            passages.append(
                Passage.from_hit(Hit(hit.chunk_id, hit.text, metadata, candidate.score))
            )
            if len(passages) == k:
                break
    return passages
