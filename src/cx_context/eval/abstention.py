"""`cx-context eval abstention`: does a DSTC11 turn need (and get) knowledge?

Every DSTC11 track 5 validation turn is labelled `target` when answering it
needs the knowledge base; the rest are bookings and searches a bot handles
otherwise. Each system gives a score per turn, higher meaning "answer from
the knowledge base"; AUROC reads the scores alone, and F1, precision and
recall are those of `score >= threshold` with the threshold that maximised
F1 on the development side (the same dialogue split as `eval retrieval`).

- `cx-context`: the calibrated "can answer" score (`knowledge.confidence`)
  over the hybrid retriever's signals for the conversation-aware query;
- `max-similarity`: the best dense similarity for the last user turn, the
  plain baseline (what `abstain_threshold` alone decides on).

With `fit=True` the logistic weights are fitted again on the development
side (scikit-learn) and used for the reported side, and printed, so they can
be written into `knowledge.confidence.DEFAULT_MODEL`.
"""

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from cx_context.eval.retrieval import (
    DATASET,
    DEFAULT_DATA,
    SPLITS,
    build_index,
    check_data,
    embed_texts,
    last_user_turn,
    load_instances,
)
from cx_context.knowledge.confidence import (
    DEFAULT_MODEL,
    FEATURES,
    ConfidenceModel,
    features,
)
from cx_context.knowledge.conversation import ConversationQuery
from cx_context.knowledge.embedding import Embedder


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The score threshold with the highest F1 (ties: the higher threshold)."""
    candidates = sorted({round(float(s), 4) for s in scores})
    best, best_f1 = candidates[0], -1.0
    truth = np.asarray(labels, bool)
    values = np.asarray(scores)
    for threshold in candidates:
        f1 = float(f1_score(truth, values >= threshold, zero_division=0))
        if f1 >= best_f1:
            best, best_f1 = threshold, f1
    return best


def figures(
    scores: Sequence[float], labels: Sequence[bool], threshold: float
) -> dict[str, float]:
    truth = np.asarray(labels, bool)
    decided = np.asarray(scores) >= threshold
    return {
        "auroc": round(float(roc_auc_score(truth, scores)), 4),
        "f1": round(float(f1_score(truth, decided, zero_division=0)), 4),
        "precision": round(float(precision_score(truth, decided, zero_division=0)), 4),
        "recall": round(float(recall_score(truth, decided, zero_division=0)), 4),
        "threshold": round(threshold, 4),
    }


def run(
    data: Path = DEFAULT_DATA,
    split: str = "test",
    limit: int | None = None,
    cache: Path | None = None,
    embedder: Embedder | None = None,
    fit: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """The whole evaluation as one JSON-ready dict (see the module docstring)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    started = time.perf_counter()
    check_data(data)
    instances = load_instances(data)
    dev = [i for i in instances if i.split == "dev"]
    report = [i for i in instances if split in ("all", i.split)]
    if limit is not None:
        dev, report = dev[:limit], report[:limit]
    embedder = embedder or Embedder()
    rows: dict[int, tuple[list[float], float]] = {}

    def stage(name: str) -> Callable[[int, int], None] | None:
        return None if progress is None else lambda d, t: progress(name, d, t)

    with build_index(
        data, embedder, cache, None, stage("embedding knowledge")
    ) as index:
        wanted = list({i.index: i for i in [*dev, *report]}.values())
        entities = index.hybrid.entities
        queries = [ConversationQuery.from_turns(i.turns, entities) for i in wanted]
        lasts = [last_user_turn(i.turns) for i in wanted]
        # Embedded in batches up front: one at a time costs more than searching.
        vectors = embed_texts(
            [q.text() for q in queries] + lasts, embedder, stage("embedding turns")
        )
        n = len(wanted)
        for j, instance in enumerate(wanted):
            result = index.hybrid.search(queries[j], 5, vector=vectors[j])
            plain = index.retriever.search_vector(vectors[n + j], 1)
            rows[instance.index] = (
                features(result.signals, queries[j].question),
                plain[0].score if plain else 0.0,
            )
            if progress and ((j + 1) % 50 == 0 or j + 1 == n):
                progress("scoring turns", j + 1, n)

    model = DEFAULT_MODEL
    if fit:
        model = _fit([rows[i.index][0] for i in dev], [i.target for i in dev])

    def ours(group: Sequence[Any]) -> list[float]:
        return [_score(model, rows[i.index][0]) for i in group]

    def baseline(group: Sequence[Any]) -> list[float]:
        return [rows[i.index][1] for i in group]

    labels_dev = [i.target for i in dev]
    labels = [i.target for i in report]
    systems = {}
    thresholds = {}
    for name, scorer in (("cx-context", ours), ("max-similarity", baseline)):
        thresholds[name] = best_threshold(scorer(dev), labels_dev)
        systems[name] = figures(scorer(report), labels, thresholds[name])
    return {
        "eval": "abstention",
        "dataset": DATASET,
        "data": str(data),
        "n": len(report),
        "split": split,
        "systems": systems,
        "settings": {
            "n_dev": len(dev),
            "positives": sum(labels),
            "threshold_chosen_on": "dev (highest F1)",
            "weights": "fitted on dev now" if fit else "knowledge.confidence",
            "model": {
                "weights": [round(w, 4) for w in model.weights],
                "bias": round(model.bias, 4),
                "features": list(FEATURES),
            },
        },
        "runtime_s": round(time.perf_counter() - started, 1),
    }


def _fit(rows: Sequence[list[float]], labels: Sequence[bool]) -> ConfidenceModel:
    regression = LogisticRegression(max_iter=2000, C=1.0)
    regression.fit(np.asarray(rows), np.asarray(labels, bool))
    return ConfidenceModel(
        tuple(float(w) for w in regression.coef_[0]), float(regression.intercept_[0])
    )


def _score(model: ConfidenceModel, row: list[float]) -> float:
    z = model.bias + sum(w * x for w, x in zip(model.weights, row, strict=True))
    return float(1.0 / (1.0 + np.exp(-z)))
