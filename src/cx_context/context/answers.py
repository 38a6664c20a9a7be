"""Grounded answers for bots: composed only from retrieved passages, always cited.

Offline, with no language model, an answer is a short composition of the
passage sentences closest to the question, each followed by the number of the
passage it came from. When the best passage is less similar to the question
than the abstention threshold, the answer is an explicit abstention.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cx_context.context.errors import InvalidQuestionError
from cx_context.context.text import sentences, word_count
from cx_context.guardrails import CONVERSATION_POLICY, PiiRedactor
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.injection import InjectionScreen
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage
from cx_context.guardrails.risk_events import (
    ANSWER_ACTOR,
    output_findings,
    refused_question,
)
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Actor, RiskEvent, Versions
from cx_context.knowledge.embedding import Embedder
from cx_context.knowledge.questions import QuestionLog, QuestionOutcome, Retrieved
from cx_context.knowledge.retrieval import FilterValue, Passage, Retriever

logger = logging.getLogger(__name__)

ABSTENTION_TEXT = (
    "No grounded answer: our content does not cover this question well enough."
)
REFUSAL_TEXT = (
    "This question cannot be answered: it reads as an attempt to change how "
    "the assistant works rather than a question about our service."
)
# The offline composer has no model and no prompt; the risk log says so.
_VERSIONS_MODEL = "extractive"
_VERSIONS_TEMPLATE = "extractive-answer/1"


@dataclass(frozen=True)
class Citation:
    number: int
    chunk_id: str
    document_id: str
    title: str
    section: str
    score: float


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citation: int
    support: float  # similarity of the sentence to the question


@dataclass(frozen=True)
class Answer:
    question_id: int
    question: str  # as redacted and stored
    text: str
    abstained: bool
    best_score: float | None
    threshold: float
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    reason: str | None = None
    # A flagged question is refused: not answered, not logged as a question
    # (question_id 0), and written to the risk log instead.
    refused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "refused": self.refused,
            "reason": self.reason,
            "best_score": None
            if self.best_score is None
            else round(self.best_score, 4),
            "threshold": self.threshold,
            "citations": [
                {
                    "number": c.number,
                    "title": c.title,
                    "section": c.section,
                    "document_id": c.document_id,
                    "chunk_id": c.chunk_id,
                    "score": round(c.score, 4),
                }
                for c in self.citations
            ],
        }


@dataclass(frozen=True)
class AnswerConfig:
    threshold: float = 0.45
    k: int = 5
    max_passages: int = 3
    max_sentences: int = 3
    max_question_chars: int = 2000
    # A sentence joins the answer only if it is nearly as close to the question
    # as the best one; this keeps a procedure's unrelated steps out.
    sentence_margin: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.k <= 0:
            raise ValueError(f"k must be > 0, got {self.k}")


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        redactor: PiiRedactor,
        questions: QuestionLog,
        config: AnswerConfig | None = None,
        screen: InjectionScreen | None = None,
        checker: OutputChecker | None = None,
        risk_log: RiskLog | None = None,
    ) -> None:
        self._retriever = retriever
        self._embedder = embedder
        self._redactor = redactor
        self._questions = questions
        self.config = config or AnswerConfig()
        self._screen = screen
        self._checker = checker
        self._risk_log = risk_log

    def answer(
        self,
        question: str,
        filters: Mapping[str, FilterValue] | None = None,
        k: int | None = None,
        *,
        request_id: str | None = None,
        actor: Actor = ANSWER_ACTOR,
    ) -> Answer:
        question = question.strip()
        if not question:
            raise InvalidQuestionError("question is empty")
        if len(question) > self.config.max_question_chars:
            raise InvalidQuestionError(
                f"question is {len(question)} characters, "
                f"the limit is {self.config.max_question_chars}"
            )
        # The question is redacted before it is embedded, stored or logged.
        redaction = self._redactor.redact(question, CONVERSATION_POLICY)
        asked = redaction.text
        if self._screen is not None:
            # The screen reads the question as typed, in memory; only the
            # hash of its redacted form reaches the risk log.
            screened = self._screen.screen(question)
            if screened.flagged:
                self._log(
                    refused_question(
                        screened,
                        asked,
                        redaction.entity_counts,
                        self._versions(),
                        actor,
                        request_id,
                    )
                )
                logger.info("question refused by the injection screen")
                reason = (
                    f"flagged by the prompt-injection screen "
                    f"({', '.join(screened.fired)}; score {screened.score:.2f}, "
                    f"threshold {screened.threshold:.2f})"
                )
                return Answer(
                    0,
                    asked,
                    REFUSAL_TEXT,
                    True,
                    None,
                    self.config.threshold,
                    reason=reason,
                    refused=True,
                )
        query_vector = self._retriever.embed_query(asked)
        passages = self._retriever.search_vector(
            query_vector, k or self.config.k, filters
        )
        best = passages[0].score if passages else None
        retrieved = [Retrieved(p.document_id, p.chunk_id, p.score) for p in passages]
        threshold = self.config.threshold

        if best is None or best < threshold:
            reason = (
                "no knowledge passages match the filters"
                if best is None
                else f"best passage similarity {best:.3f} is below "
                f"the threshold {threshold:.2f}"
            )
            question_id = self._questions.record(
                asked,
                QuestionOutcome.ABSTAINED,
                best,
                filters,
                (),
                redaction.entity_counts,
                retrieved=retrieved,
            )
            logger.info("question %d abstained (best score %s)", question_id, best)
            return Answer(
                question_id,
                asked,
                ABSTENTION_TEXT,
                True,
                best,
                threshold,
                reason=reason,
            )

        supporting = [p for p in passages if p.score >= threshold][
            : self.config.max_passages
        ]
        chosen = self._compose(query_vector, supporting)
        used = sorted({index for index, _, _ in chosen})
        number = {passage_index: n for n, passage_index in enumerate(used, start=1)}
        answer_sentences = [
            AnswerSentence(text, number[index], support)
            for index, text, support in chosen
        ]
        citations = [
            Citation(
                number[i],
                supporting[i].chunk_id,
                supporting[i].document_id,
                supporting[i].title,
                supporting[i].section,
                supporting[i].score,
            )
            for i in used
        ]
        text = " ".join(
            f"{_terminated(s.text)} [{s.citation}]" for s in answer_sentences
        )
        if self._checker is not None:
            provided = [
                SourcePassage(number[i], supporting[i].body, supporting[i].chunk_id)
                for i in used
            ]
            check = self._checker.check(text, provided, [asked])
            if check.decision is not Decision.ALLOW:
                question_id = self._questions.record(
                    asked,
                    QuestionOutcome.ANSWERED
                    if check.decision is Decision.REDACT
                    else QuestionOutcome.ABSTAINED,
                    best,
                    filters,
                    [c.chunk_id for c in citations],
                    redaction.entity_counts,
                    retrieved=retrieved,
                )
                for event in output_findings(
                    check,
                    f"question-{question_id}",
                    text,
                    tuple(p.source_id for p in provided),
                    self._versions(),
                    actor,
                    request_id,
                ):
                    self._log(event)
                if check.decision is Decision.REDACT:
                    return Answer(
                        question_id,
                        asked,
                        check.text,
                        False,
                        best,
                        threshold,
                        citations,
                        reason="; ".join(check.reasons),
                    )
                return Answer(
                    question_id,
                    asked,
                    ABSTENTION_TEXT,
                    True,
                    best,
                    threshold,
                    reason="the composed answer failed the output checks: "
                    + "; ".join(check.reasons),
                )
        question_id = self._questions.record(
            asked,
            QuestionOutcome.ANSWERED,
            best,
            filters,
            [c.chunk_id for c in citations],
            redaction.entity_counts,
            retrieved=retrieved,
        )
        logger.info(
            "question %d answered from %d passages", question_id, len(citations)
        )
        return Answer(
            question_id,
            asked,
            text,
            False,
            best,
            threshold,
            citations,
            answer_sentences,
        )

    def _versions(self) -> Versions:
        return Versions(
            model=_VERSIONS_MODEL,
            embedder=self._embedder.model_name,
            index="chroma:knowledge",
            prompt_template=_VERSIONS_TEMPLATE,
        )

    def _log(self, event: RiskEvent) -> None:
        if self._risk_log is not None:
            self._risk_log.append(event)

    def _compose(
        self, query_vector: np.ndarray[Any, Any], passages: list[Passage]
    ) -> list[tuple[int, str, float]]:
        """The best passage in reading order, then the closest sentence of the others.

        Reading the best passage whole keeps a procedure's steps together; a
        runner-up adds its one sentence nearest the question, if that sentence
        is nearly as close as the best passage's own.
        """
        per_passage = [
            [s for s in sentences(passage.body) if _informative(s)]
            or [passage.body.strip()]
            for passage in passages
        ]
        flat = [(i, s) for i, group in enumerate(per_passage) for s in group]
        vectors = self._embedder.embed([s for _, s in flat])
        similarity = [float(v) for v in vectors @ query_vector]

        best = [(0, s, similarity[j]) for j, (i, s) in enumerate(flat) if i == 0]
        best = best[: self.config.max_sentences]
        floor = max(sim for _, _, sim in best) - self.config.sentence_margin
        chosen = list(best)
        for index in range(1, len(passages)):
            if len(chosen) >= self.config.max_sentences + 1:
                break
            candidates = [(j, s) for j, (i, s) in enumerate(flat) if i == index]
            j, sentence = max(candidates, key=lambda c: similarity[c[0]])
            too_similar = any(
                float(vectors[j] @ vectors[k]) > 0.9 for k in range(len(best))
            )
            if similarity[j] >= floor and not too_similar:
                chosen.append((index, sentence, similarity[j]))
        return chosen


def _informative(sentence: str) -> bool:
    # "In this case:" introduces a list; on its own it says nothing.
    words = word_count(sentence)
    return words >= 3 and not (sentence.rstrip().endswith(":") and words < 6)


def _terminated(sentence: str) -> str:
    sentence = sentence.rstrip()
    return sentence if sentence[-1:] in {".", "!", "?", ":"} else f"{sentence}."
