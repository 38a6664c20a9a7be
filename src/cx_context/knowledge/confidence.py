"""The "can answer" score: how likely the retrieved passages answer the question.

A logistic model over the retrieval signals: the best dense similarity over
all passages and within the conversation's entity, the best BM25 score,
whether the two rankers agree on their top passages, whether the
conversation names an entity the knowledge base knows, and the shape of the
question. Its weights were fitted on the development side of DSTC11 track 5
(`cx-context eval abstention --fit`, which prints them); the threshold an
answer must reach is `answer_threshold` in the settings. Content far from
hotels and restaurants may call for refitting them on its own questions.
"""

import math
import re
from dataclasses import dataclass

from cx_context.knowledge.hybrid import Signals

_QUESTION_START = re.compile(
    r"^\s*(do|does|did|is|are|was|were|can|could|will|would|should|have|has|"
    r"what|which|who|whom|whose|when|where|why|how|any|tell|i\s+wonder)\b",
    re.IGNORECASE,
)
FEATURES = (
    "best_dense",
    "best_entity_dense",
    "log_best_lexical",
    "agreement",
    "top_agrees",
    "entity_found",
    "entity_in_question",
    "log_question_words",
    "is_question",
)


def features(signals: Signals, question: str) -> list[float]:
    """The model's inputs, in the order of FEATURES."""
    asks = question.rstrip().endswith("?") or bool(_QUESTION_START.match(question))
    return [
        signals.best_dense or 0.0,
        signals.best_entity_dense or 0.0,
        math.log1p(max(signals.best_lexical, 0.0)),
        signals.agreement,
        float(signals.top_agrees),
        float(signals.entity_found),
        float(signals.entity_in_question),
        math.log1p(signals.question_words),
        float(asks),
    ]


@dataclass(frozen=True)
class ConfidenceModel:
    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(
                f"weights must have {len(FEATURES)} values, got {len(self.weights)}"
            )

    def score(self, signals: Signals, question: str) -> float:
        """Probability in [0, 1] that the passages can answer the question."""
        z = self.bias + sum(
            w * x
            for w, x in zip(self.weights, features(signals, question), strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))


# Fitted on the 1,342 development turns of DSTC11 track 5 (`cx-context eval
# abstention --fit`); on its 2,831 reported turns AUROC 0.906 against 0.607 for
# the best dense similarity alone.
DEFAULT_MODEL = ConfidenceModel(
    weights=(0.6934, 1.4099, 1.7607, 1.4059, 0.2455, 0.7975, 0.468, -1.736, 3.6936),
    bias=-4.5671,
)
# The F1-best threshold for DEFAULT_MODEL on those development turns. The
# weights reward naming an entity the knowledge base knows, as DSTC11's
# hotels and restaurants do; on procedure manuals such as ABCD's, whose
# questions name no entity, the score stays low and this threshold would
# turn away answerable questions, so the service applies it only when
# `answer_threshold` is set.
DSTC11_ANSWER_THRESHOLD = 0.5873
