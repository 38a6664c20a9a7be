"""`cx-context eval retrieval`: finding the grounding snippet of a DSTC11 turn.

DSTC11 track 5 (validation split) holds conversation prefixes about Cambridge
hotels and restaurants, each ending with a user turn; 2,129 of them need
knowledge, and are labelled with the FAQ answers or review sentences that
ground the reply. The knowledge base is indexed with our own chunker, one
passage per FAQ (question and answer) and per review sentence, under its
entity's name as the document title; vectors come from the bundled embedder
and live in a throw-away in-memory Chroma.

A turn counts as found at k when any of its gold snippets is among the first
k passages; MRR is the mean of 1 / rank of the first gold snippet in the top
10 (0 when none is). Systems, all over all entities:

- `cx-context`: the hybrid retriever with the conversation-aware query (the
  last user turn, its entity resolved from the dialogue);
- `cx-context-last-turn`: the same retriever given the last user turn alone;
- `bm25-last-turn`: BM25 alone on the last user turn;
- `dense-last-turn`: the dense `Retriever` alone on the last user turn;
- `dense-gold-entity` (a reference, not a baseline): dense search told which
  entity the gold snippets belong to.

Dialogues are split by a hash of their opening turns (all prefixes of one
dialogue fall on one side): about a third is the development side, on which
the retriever's settings were chosen; figures are reported on the other side
("test") unless `--split` says otherwise.
"""

import hashlib
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cx_context.knowledge.chunking import Chunk, Chunker, MetadataValue, SectionText
from cx_context.knowledge.conversation import ConversationQuery, Turn
from cx_context.knowledge.embedding import Embedder, Vectors
from cx_context.knowledge.hybrid import HybridConfig, HybridRetriever, entity_index
from cx_context.knowledge.lexical import LexicalIndex
from cx_context.knowledge.retrieval import Passage, Retriever
from cx_context.knowledge.vectorstore import Collection, Hit, VectorStore

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path("../shared/data/dstc11-track5")
DATASET = "dstc11-track5"
SPLITS = ("dev", "test", "all")
KS = (1, 5, 10)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Instance:
    index: int
    turns: tuple[Turn, ...]
    target: bool
    gold: frozenset[str]  # unit keys
    gold_documents: tuple[str, ...]
    split: str


def unit_key(document_id: str, doc_type: str, doc_id: Any, sent_id: Any) -> str:
    if doc_type == "faq":
        return f"{document_id}:faq:{doc_id}"
    return f"{document_id}:review:{doc_id}:{sent_id}"


def document_id(domain: str, entity_id: Any) -> str:
    return f"dstc11-{domain}-{entity_id}"


def split_of(turns: Sequence[Turn]) -> str:
    opening = "\n".join(turn.text for turn in turns[:2])
    return "dev" if hashlib.sha256(opening.encode()).digest()[0] % 3 == 0 else "test"


def check_data(data: Path) -> None:
    for name in ("knowledge.json", "val_logs.json", "val_labels.json"):
        if not (data / name).is_file():
            raise FileNotFoundError(
                f"{data / name}: no such file (DATA must hold knowledge.json, "
                "val_logs.json and val_labels.json, the DSTC11 track 5 layout)"
            )


def load_instances(data: Path) -> list[Instance]:
    logs = json.loads((data / "val_logs.json").read_text(encoding="utf-8"))
    labels = json.loads((data / "val_labels.json").read_text(encoding="utf-8"))
    if len(logs) != len(labels):
        raise ValueError(
            f"{data}: {len(logs)} logs but {len(labels)} labels; they align by index"
        )
    instances = []
    for index, (log, label) in enumerate(zip(logs, labels, strict=True)):
        turns = tuple(
            Turn("user" if turn["speaker"] == "U" else "agent", str(turn["text"]))
            for turn in log
        )
        knowledge = label.get("knowledge") or []
        gold = frozenset(
            unit_key(
                document_id(k["domain"], k["entity_id"]),
                k["doc_type"],
                k["doc_id"],
                k.get("sent_id"),
            )
            for k in knowledge
        )
        documents = tuple(
            dict.fromkeys(document_id(k["domain"], k["entity_id"]) for k in knowledge)
        )
        instances.append(
            Instance(
                index, turns, bool(label["target"]), gold, documents, split_of(turns)
            )
        )
    return instances


def knowledge_chunks(data: Path) -> list[Chunk]:
    """One passage per FAQ and per review sentence, through our own chunker."""
    kb = json.loads((data / "knowledge.json").read_text(encoding="utf-8"))
    chunker = Chunker()
    chunks: list[Chunk] = []
    for domain, entities in kb.items():
        for entity_id, entity in entities.items():
            doc = document_id(domain, entity_id)
            name = str(entity.get("name", doc))
            sections: list[SectionText] = []
            keys: list[str] = []
            for faq_id, faq in (entity.get("faqs") or {}).items():
                sections.append(SectionText(str(faq["question"]), str(faq["answer"])))
                keys.append(unit_key(doc, "faq", faq_id, None))
            for review_id, review in (entity.get("reviews") or {}).items():
                for sent_id, sentence in (review.get("sentences") or {}).items():
                    sections.append(SectionText(f"Review {review_id}", str(sentence)))
                    keys.append(unit_key(doc, "review", review_id, sent_id))
            digest = hashlib.sha256(json.dumps(entity, sort_keys=True).encode())
            base: dict[str, MetadataValue] = {
                "document_id": doc,
                "title": name,
                "source": DATASET,
                "audience": "customer",
                "tags": [domain],
                "record_id": doc,
            }
            for chunk in chunker.split_document(
                doc, digest.hexdigest(), name, None, sections, dict(base)
            ):
                index = chunk.metadata.get("section_index")
                if chunk.metadata.get("level") == "section" and isinstance(index, int):
                    chunk.metadata["unit"] = keys[index]
                chunks.append(chunk)
    return chunks


def embed_texts(
    texts: Sequence[str], embedder: Embedder, progress: Progress | None = None
) -> Vectors:
    parts = [np.zeros((0, embedder.dimension), dtype=np.float32)]
    step = 512
    for start in range(0, len(texts), step):
        parts.append(embedder.embed(texts[start : start + step]))
        if progress:
            progress(min(start + step, len(texts)), len(texts))
    return np.concatenate(parts)


def embed_chunks(
    chunks: Sequence[Chunk],
    embedder: Embedder,
    cache: Path | None,
    progress: Progress | None = None,
) -> Vectors:
    texts = [chunk.text for chunk in chunks]
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = cache / f"dstc11-{embedder.model_name}-{digest}.npy" if cache else None
    if path is not None and path.is_file():
        logger.info("knowledge vectors read from %s", path)
        vectors: Vectors = np.load(path)
        return vectors
    vectors = embed_texts(texts, embedder, progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


@dataclass
class Index:
    retriever: Retriever
    lexical: LexicalIndex
    hybrid: HybridRetriever
    n_passages: int


@contextmanager
def build_index(
    data: Path,
    embedder: Embedder,
    cache: Path | None = None,
    config: HybridConfig | None = None,
    progress: Progress | None = None,
) -> Iterator[Index]:
    chunks = knowledge_chunks(data)
    vectors = embed_chunks(chunks, embedder, cache, progress)
    with tempfile.TemporaryDirectory(prefix="cx-eval-") as folder:
        store = VectorStore.persistent(Path(folder) / f"chroma-{uuid.uuid4().hex[:8]}")
        for start in range(0, len(chunks), 2000):
            store.upsert(
                Collection.KNOWLEDGE,
                chunks[start : start + 2000],
                vectors[start : start + 2000],
            )
        sections = [
            Hit(chunk.id, chunk.text, dict(chunk.metadata), 1.0)
            for chunk in chunks
            if chunk.metadata.get("level") == "section"
        ]
        retriever = Retriever(embedder, store)
        lexical = LexicalIndex(sections)
        hybrid = HybridRetriever(retriever, lexical, entity_index(lexical), config)
        yield Index(retriever, lexical, hybrid, len(sections))


def units(passages: Sequence[Passage]) -> list[str]:
    return [str(p.metadata.get("unit", "")) for p in passages]


def scores(
    ranked: Sequence[Sequence[str]], gold: Sequence[frozenset[str]]
) -> dict[str, float]:
    n = len(gold)
    figures: dict[str, float] = {}
    for k in KS:
        found = sum(bool(set(r[:k]) & g) for r, g in zip(ranked, gold, strict=True))
        figures[f"recall@{k}"] = round(found / n, 4) if n else 0.0
    reciprocal = 0.0
    for r, g in zip(ranked, gold, strict=True):
        rank = next((i for i, unit in enumerate(r[:10], start=1) if unit in g), None)
        reciprocal += 1.0 / rank if rank else 0.0
    figures["mrr"] = round(reciprocal / n, 4) if n else 0.0
    return figures


def last_user_turn(turns: Sequence[Turn]) -> str:
    return next(turn.text for turn in reversed(turns) if turn.by_user)


def run(
    data: Path = DEFAULT_DATA,
    split: str = "test",
    limit: int | None = None,
    cache: Path | None = None,
    embedder: Embedder | None = None,
    config: HybridConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """The whole evaluation as one JSON-ready dict (see the module docstring)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    started = time.perf_counter()
    check_data(data)
    instances = [
        i
        for i in load_instances(data)
        if i.target and i.gold and split in ("all", i.split)
    ]
    if limit is not None:
        instances = instances[:limit]
    if embedder is None:
        embedder = Embedder()
    k = max(KS)

    def report(stage: str) -> Progress | None:
        if progress is None:
            return None
        return lambda done, total: progress(stage, done, total)

    with build_index(
        data, embedder, cache, config, report("embedding knowledge")
    ) as index:
        ranked: dict[str, list[list[str]]] = {
            name: []
            for name in (
                "cx-context",
                "cx-context-last-turn",
                "bm25-last-turn",
                "dense-last-turn",
                "dense-gold-entity",
            )
        }
        entities = index.hybrid.entities
        dialogues = [ConversationQuery.from_turns(i.turns, entities) for i in instances]
        lasts = [last_user_turn(i.turns) for i in instances]
        alone = [ConversationQuery.from_question(text, entities) for text in lasts]
        # Queries are embedded in batches up front: one at a time costs more
        # than the searches themselves.
        texts = [q.text() for q in dialogues] + [q.text() for q in alone] + lasts
        vectors = embed_texts(texts, embedder, report("embedding queries"))
        n = len(instances)
        for done, instance in enumerate(instances, start=1):
            j = done - 1
            last_vector = vectors[2 * n + j]
            ranked["cx-context"].append(
                units(index.hybrid.search(dialogues[j], k, vector=vectors[j]).passages)
            )
            ranked["cx-context-last-turn"].append(
                units(index.hybrid.search(alone[j], k, vector=vectors[n + j]).passages)
            )
            ranked["bm25-last-turn"].append(
                [
                    str(h.hit.metadata.get("unit", ""))
                    for h in index.lexical.search(lasts[j], k)
                ]
            )
            ranked["dense-last-turn"].append(
                units(index.retriever.search_vector(last_vector, k))
            )
            gold_filter = {"document_id": list(instance.gold_documents)}
            ranked["dense-gold-entity"].append(
                units(index.retriever.search_vector(last_vector, k, gold_filter))
            )
            if progress and (done % 25 == 0 or done == n):
                progress("searching", done, n)
        n_passages = index.n_passages
    gold = [i.gold for i in instances]
    return {
        "eval": "retrieval",
        "dataset": DATASET,
        "data": str(data),
        "n": len(instances),
        "split": split,
        "systems": {name: scores(lists, gold) for name, lists in ranked.items()},
        "settings": {
            "k": k,
            "n_passages": n_passages,
            "tuned_on": "dev",
            "hit": "any gold FAQ or review sentence among the first k passages",
            "reference_not_baseline": ["dense-gold-entity"],
            **(config or HybridConfig()).__dict__,
        },
        "runtime_s": round(time.perf_counter() - started, 1),
    }
