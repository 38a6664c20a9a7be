"""Grounded answers for bots: composed only from retrieved passages, always cited.

Offline, with no language model, an answer is a short composition of the
passage sentences closest to the question, each followed by the number of the
passage it came from. When the best passage is less similar to the question
than the abstention threshold, the answer is an explicit abstention.
"""

import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cx_context.context.errors import InvalidQuestionError
from cx_context.context.generation import Generator, load_prompt
from cx_context.context.llm_answers import write_answer
from cx_context.context.text import sentences, word_count
from cx_context.guardrails import CONVERSATION_POLICY, PiiRedactor, Redaction
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.identity_answers import CUSTOMER, asked_types
from cx_context.guardrails.injection import InjectionScreen
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage, claims
from cx_context.guardrails.risk_events import (
    ANSWER_ACTOR,
    generation_fallback,
    output_findings,
    refused_question,
)
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Actor, RiskEvent, Versions
from cx_context.knowledge.confidence import DEFAULT_MODEL, ConfidenceModel
from cx_context.knowledge.conversation import ConversationQuery, Turn
from cx_context.knowledge.embedding import Embedder
from cx_context.knowledge.errors import InvalidDialogueError
from cx_context.knowledge.hybrid import HybridRetriever, Signals
from cx_context.knowledge.questions import QuestionLog, QuestionOutcome, Retrieved
from cx_context.knowledge.records import Channel
from cx_context.knowledge.retrieval import FilterValue, Passage, Retriever

logger = logging.getLogger(__name__)

ABSTENTION_TEXT = (
    "No grounded answer: our content does not cover this question well enough."
)
REFUSAL_TEXT = (
    "This question cannot be answered: it reads as an attempt to change how "
    "the assistant works rather than a question about our service."
)
# The most turns a dialogue to answer may have; only the last few are read
# (`conversation_turns`), so a longer one is a client's mistake.
MAX_DIALOGUE_TURNS = 50
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
    confidence: float | None = None  # the can-answer score, when hybrid
    generator: str = _VERSIONS_MODEL  # "extractive", or the model that wrote it
    prompt: str | None = None  # the prompt's name and version, e.g. "answer/v1"
    fallback: str | None = None  # why a model's answer was not used

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "refused": self.refused,
            "reason": self.reason,
            "best_score": None if self.best_score is None else shown(self.best_score),
            "threshold": self.threshold,
            "confidence": None
            if self.confidence is None
            else round(self.confidence, 4),
            "generator": self.generator,
            "prompt": self.prompt,
            "fallback": self.fallback,
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
    # The least can-answer score (knowledge.confidence) an answer needs;
    # None: the similarity threshold alone decides.
    answer_threshold: float | None = None
    max_turns: int = MAX_DIALOGUE_TURNS
    conversation_turns: int = 6  # recent turns the model sees

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.k <= 0:
            raise ValueError(f"k must be > 0, got {self.k}")
        if self.answer_threshold is not None and not (
            0.0 <= self.answer_threshold <= 1.0
        ):
            raise ValueError(
                f"answer_threshold must be in [0, 1], got {self.answer_threshold}"
            )


def check_question_or_dialogue(question: bool, dialogue: bool) -> None:
    """What is asked must be one question or one dialogue; say which is wrong."""
    if question and dialogue:
        raise InvalidQuestionError("give either a question or a dialogue, not both")
    if not question and not dialogue:
        raise InvalidQuestionError(
            "no question given: give a question, or a dialogue whose last user "
            "turn is the question"
        )


def too_many_turns(turns: int, limit: int = MAX_DIALOGUE_TURNS) -> str:
    return f"dialogue has {turns} turns, the limit is {limit}"


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
        hybrid: Callable[[], HybridRetriever] | None = None,
        generator: Generator | None = None,
        confidence: ConfidenceModel = DEFAULT_MODEL,
    ) -> None:
        """`hybrid` gives the current hybrid retriever (its index follows the
        store); without it retrieval is dense only. With a `generator` that has
        a model, answers are written by it and checked; `checker` is then needed.
        """
        self._retriever = retriever
        self._embedder = embedder
        self._redactor = redactor
        self._questions = questions
        self.config = config or AnswerConfig()
        self._screen = screen
        self._checker = checker
        self._risk_log = risk_log
        self._hybrid = hybrid
        self._generator = generator
        self._confidence = confidence
        self._prompt = load_prompt("answer")

    def answer(
        self,
        question: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        k: int | None = None,
        *,
        dialogue: Sequence[Turn] | None = None,
        request_id: str | None = None,
        actor: Actor = ANSWER_ACTOR,
        channel: Channel | None = None,
    ) -> Answer:
        """Answer a question, or the last user turn of a dialogue, or abstain.

        `channel` is where the question came from, kept with it in the log.
        """
        turns = self._turns(question, dialogue)
        raw = next(turn.text for turn in reversed(turns) if turn.by_user).strip()
        # The question is redacted before it is embedded, stored or logged.
        redaction = self._redact_last(turns, raw)
        asked = redaction.text
        refusal = self._screened(raw, asked, redaction.entity_counts, actor, request_id)
        if refusal is not None:
            return refusal

        k = k or self.config.k
        threshold = self.config.threshold
        passages, signals, query = self._retrieve(turns, asked, filters, k)
        confidence = (
            None
            if signals is None or query is None
            else self._confidence.score(signals, query.question)
        )
        # The answer can only quote the passages retrieval returned, so the
        # best of those decides; the dense ranking's own best (in `signals`,
        # read by the can-answer score) may be a passage fusion left out.
        best = max((p.score for p in passages), default=None)
        retrieved = [Retrieved(p.document_id, p.chunk_id, p.score) for p in passages]
        # Hybrid retrieval chooses which passages; the composer reads the one
        # closest in meaning first, as its sentences are quoted in that order.
        supporting = sorted(
            (p for p in passages if p.score >= threshold),
            key=lambda p: p.score,
            reverse=True,
        )[: self.config.max_passages]

        reason = None
        if best is None or not passages:
            reason = (
                "no knowledge passages match the filters"
                if filters
                else "no knowledge passages are stored yet"
            )
        elif not supporting:
            reason = (
                f"best retrieved passage similarity {shown(best)} is below "
                f"the threshold {threshold}"
            )
        elif (
            confidence is not None
            and self.config.answer_threshold is not None
            and confidence < self.config.answer_threshold
        ):
            reason = (
                f"the can-answer score {confidence:.3f} is below the answer "
                f"threshold {self.config.answer_threshold:.2f}"
            )
        if reason is not None:
            question_id = self._questions.record(
                asked,
                QuestionOutcome.ABSTAINED,
                best,
                filters,
                (),
                redaction.entity_counts,
                retrieved=retrieved,
                channel=channel,
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
                confidence=confidence,
            )

        query_vector = self._retriever.embed_query(asked)
        chosen = self._compose(query_vector, supporting)
        used = sorted({index for index, _, _ in chosen})
        number = {passage_index: n for n, passage_index in enumerate(used, start=1)}
        answer_sentences = [
            AnswerSentence(text, number[index], support)
            for index, text, support in chosen
        ]
        citations = [_citation(number[i], supporting[i]) for i in used]
        text = " ".join(
            f"{_terminated(s.text)} [{s.citation}]" for s in answer_sentences
        )
        draft = _Draft(text, citations, answer_sentences, _VERSIONS_MODEL, None)
        fallback = None
        if self._generator is not None and self._generator.available:
            written, fallback = self._written(
                supporting, asked, turns, actor, request_id
            )
            if written is not None:
                draft = written
            elif fallback == "no_answer":
                question_id = self._questions.record(
                    asked,
                    QuestionOutcome.ABSTAINED,
                    best,
                    filters,
                    (),
                    redaction.entity_counts,
                    retrieved=retrieved,
                    channel=channel,
                )
                return Answer(
                    question_id,
                    asked,
                    ABSTENTION_TEXT,
                    True,
                    best,
                    threshold,
                    reason="the language model found no answer in the passages",
                    confidence=confidence,
                    generator=self._generator.model_name,
                    prompt=self._prompt.label,
                )
        return self._released(
            draft,
            supporting,
            asked,
            best,
            filters,
            redaction.entity_counts,
            retrieved,
            confidence,
            fallback,
            actor,
            request_id,
            channel,
        )

    def _redact_last(self, turns: Sequence[Turn], raw: str) -> Redaction:
        """The last user turn, redacted; read with the bot's turn before it
        when that asked for an identifier ("what is your postcode?")."""
        last = max(i for i, turn in enumerate(turns) if turn.by_user)
        before = turns[last - 1] if last > 0 and not turns[last - 1].by_user else None
        if before is None or not asked_types(before.text, CONVERSATION_POLICY.entities):
            return self._redactor.redact(raw, CONVERSATION_POLICY)
        return self._redactor.redact_many(
            [before.text, raw], CONVERSATION_POLICY, speakers=["bot", CUSTOMER]
        )[1]

    def _turns(
        self, question: str | None, dialogue: Sequence[Turn] | None
    ) -> list[Turn]:
        limit = self.config.max_question_chars
        check_question_or_dialogue(question is not None, dialogue is not None)
        if dialogue is None:
            assert question is not None
            turns = [Turn("user", question)]
        else:
            turns = list(dialogue)
            if len(turns) > self.config.max_turns:
                raise InvalidDialogueError(
                    too_many_turns(len(turns), self.config.max_turns)
                )
            for position, turn in enumerate(turns, start=1):
                if len(turn.text) > limit:
                    raise InvalidDialogueError(
                        f"dialogue turn {position} is {len(turn.text)} characters, "
                        f"the limit is {limit}"
                    )
            ConversationQuery.from_turns(turns)  # no turns, no user turn: an error
        last = next((t.text.strip() for t in reversed(turns) if t.by_user), "")
        if not last:
            raise InvalidQuestionError("question is empty")
        if len(last) > limit:
            raise InvalidQuestionError(
                f"question is {len(last)} characters, the limit is {limit}"
            )
        return turns

    def _screened(
        self,
        raw: str,
        asked: str,
        entity_counts: Mapping[str, int],
        actor: Actor,
        request_id: str | None,
    ) -> "Answer | None":
        if self._screen is None:
            return None
        # The screen reads the question as typed, in memory; only the
        # hash of its redacted form reaches the risk log.
        screened = self._screen.screen(raw)
        if not screened.flagged:
            return None
        self._log(
            refused_question(
                screened, asked, entity_counts, self._versions(), actor, request_id
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

    def _retrieve(
        self,
        turns: Sequence[Turn],
        asked: str,
        filters: Mapping[str, FilterValue] | None,
        k: int,
    ) -> tuple[list[Passage], Signals | None, ConversationQuery | None]:
        if self._hybrid is None:
            vector = self._retriever.embed_query(asked)
            return self._retriever.search_vector(vector, k, filters), None, None
        hybrid = self._hybrid()
        # Entities are found in the turns as written, in memory; only the
        # names of knowledge entities are kept. The texts searched with are
        # redacted.
        query = ConversationQuery.from_turns(turns, hybrid.entities)
        previous = (
            self._redactor.redact(query.previous, CONVERSATION_POLICY).text
            if query.previous
            else ""
        )
        query = replace(query, question=asked, previous=previous)
        result = hybrid.search(query, k, filters)
        return result.passages, result.signals, query

    def _written(
        self,
        supporting: list[Passage],
        asked: str,
        turns: Sequence[Turn],
        actor: Actor,
        request_id: str | None,
    ) -> "tuple[_Draft | None, str | None]":
        """The model's checked answer, or None and why it was not used."""
        assert self._generator is not None
        if self._checker is None:
            raise ValueError("an answer written by a language model needs a checker")
        provided = [
            SourcePassage(n, p.body, p.chunk_id)
            for n, p in enumerate(supporting, start=1)
        ]
        earlier = [
            t for t in turns[-self.config.conversation_turns : -1] if t.text.strip()
        ]
        # Redacted as one conversation: a reply to "what is your postcode?"
        # is the postcode however it is said.
        redacted = self._redactor.redact_many(
            [t.text for t in earlier],
            CONVERSATION_POLICY,
            speakers=[CUSTOMER if t.by_user else "agent" for t in earlier],
        )
        conversation = "\n".join(
            f"{'Customer' if t.by_user else 'Agent'}: {r.text}"
            for t, r in zip(earlier, redacted, strict=True)
        )
        written = write_answer(
            self._generator,
            self._prompt,
            self._checker,
            provided,
            [p.title for p in supporting],
            asked,
            conversation,
        )
        versions = self._versions(self._generator.model_name, self._prompt.label)
        output_id = f"answer-{uuid.uuid4().hex[:12]}"
        sources = tuple(p.source_id for p in provided)
        for checked_text, check in written.checks:
            for event in output_findings(
                check, output_id, checked_text, sources, versions, actor, request_id
            ):
                self._log(event)
        if written.text is None:
            if written.failure != "no_answer":
                self._log(
                    generation_fallback(
                        written.failure or "model_error",
                        output_id,
                        sources,
                        versions,
                        actor,
                        request_id,
                    )
                )
                logger.warning(
                    "model answer not used (%s); the offline answer goes out",
                    written.failure,
                )
            return None, written.failure
        cited = sorted({n for claim in claims(written.text) for n in claim.citations})
        citations = [_citation(n, supporting[n - 1]) for n in cited]
        return (
            _Draft(
                written.text,
                citations,
                [],
                self._generator.model_name,
                self._prompt.label,
            ),
            None,
        )

    def _released(
        self,
        draft: "_Draft",
        supporting: list[Passage],
        asked: str,
        best: float | None,
        filters: Mapping[str, FilterValue] | None,
        entity_counts: Mapping[str, int],
        retrieved: list[Retrieved],
        confidence: float | None,
        fallback: str | None,
        actor: Actor,
        request_id: str | None,
        channel: Channel | None = None,
    ) -> "Answer":
        """The offline composition checked (a model's was checked already)."""
        threshold = self.config.threshold
        text = draft.text
        reason = None
        abstained = False
        chunk_ids = [c.chunk_id for c in draft.citations]
        if self._checker is not None and draft.prompt is None:
            provided = [
                SourcePassage(c.number, _body(supporting, c.chunk_id), c.chunk_id)
                for c in draft.citations
            ]
            check = self._checker.check(text, provided, [asked])
            if check.decision is not Decision.ALLOW:
                for event in output_findings(
                    check,
                    f"answer-{uuid.uuid4().hex[:12]}",
                    text,
                    tuple(p.source_id for p in provided),
                    self._versions(),
                    actor,
                    request_id,
                ):
                    self._log(event)
                reason = "; ".join(check.reasons)
                if check.decision is Decision.REDACT:
                    text = check.text
                else:
                    abstained = True
                    text = ABSTENTION_TEXT
                    reason = "the composed answer failed the output checks: " + reason
        # The log keeps the best similarity, not the can-answer score: knowledge
        # owners see a low-confidence answer only as one of low similarity.
        question_id = self._questions.record(
            asked,
            QuestionOutcome.ABSTAINED if abstained else QuestionOutcome.ANSWERED,
            best,
            filters,
            chunk_ids,
            entity_counts,
            retrieved=retrieved,
            channel=channel,
        )
        if fallback is not None and not abstained:
            note = f"the language model's answer was not used ({fallback})"
            reason = f"{reason}; {note}" if reason else note
        logger.info(
            "question %d answered from %d passages", question_id, len(chunk_ids)
        )
        return Answer(
            question_id,
            asked,
            text,
            abstained,
            best,
            threshold,
            [] if abstained else draft.citations,
            [] if abstained else draft.sentences,
            reason=reason,
            confidence=confidence,
            generator=draft.generator,
            prompt=draft.prompt,
            fallback=fallback,
        )

    def _versions(
        self, model: str = _VERSIONS_MODEL, template: str = _VERSIONS_TEMPLATE
    ) -> Versions:
        return Versions(
            model=model,
            embedder=self._embedder.model_name,
            index="chroma:knowledge",
            prompt_template=template,
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


@dataclass(frozen=True)
class _Draft:
    text: str
    citations: list[Citation]
    sentences: list[AnswerSentence]
    generator: str
    prompt: str | None  # None: composed offline, not yet checked


def shown(score: float) -> float:
    """A similarity to four places, cut rather than rounded.

    Rounded, a score just under the threshold could read as equal to it next
    to an abstention; cut, the number shown keeps the comparison's result.
    """
    return math.floor(score * 10_000) / 10_000


def _citation(number: int, passage: Passage) -> Citation:
    return Citation(
        number,
        passage.chunk_id,
        passage.document_id,
        passage.title,
        passage.section,
        passage.score,
    )


def _body(passages: Sequence[Passage], chunk_id: str) -> str:
    return next(p.body for p in passages if p.chunk_id == chunk_id)


def _informative(sentence: str) -> bool:
    # "In this case:" introduces a list; on its own it says nothing.
    words = word_count(sentence)
    return words >= 3 and not (sentence.rstrip().endswith(":") and words < 6)


def _terminated(sentence: str) -> str:
    sentence = sentence.rstrip()
    return sentence if sentence[-1:] in {".", "!", "?", ":"} else f"{sentence}."
