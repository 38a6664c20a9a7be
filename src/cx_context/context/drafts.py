"""Reply drafts: the agent's next message, grounded in policy and the customer's record.

`Drafter.draft(interaction, customer)` acknowledges what the customer said,
applies the policy steps retrieved for the conversation's intent, states the
case's state (done, pending, next action) and respects what consent allows;
each sentence cites its source ([n]: a policy section, the case, a turn).
Offline the draft is composed from those sources. With a language model, the
model writes it from the same numbered sources and its text passes the output
check, or the composed draft is returned and the event is logged.

Drafts are written from redacted text only: placeholders such as
<PERSON_1> stay placeholders. Re-identification is a separate, logged act
(`reidentify`) for the roles allowed it, never part of a draft.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from cx_context.context.checked_prose import numbered, text_id, write_checked
from cx_context.context.errors import ConflictError, ContextError
from cx_context.context.generation import Generator, load_prompt
from cx_context.context.readable import why_unreadable
from cx_context.context.records import CaseView, CustomerView, Purpose
from cx_context.context.summaries import Field, summarize_interaction
from cx_context.context.text import sentences
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage, claims
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Actor
from cx_context.knowledge.catalog import StoredInteraction
from cx_context.knowledge.retrieval import Passage, Retriever

DRAFT_ACTOR = Actor("agent_assist", "reply_draft")
COMPOSER = "composed-v1"
# Policy steps about offers are left out unless marketing consent is in force.
_MARKETING = re.compile(
    r"\b(?:promo(?:tion|tional)? code|coupon|discount|newsletter|marketing|"
    r"special offer)\b",
    re.IGNORECASE,
)
_STEPS_KEPT = 3


class DraftRefusedError(ConflictError):
    """A draft asked for where none may be written (a closed case, no consent)."""


class NothingToDraftError(ContextError):
    """An interaction with nothing to reply to (no turns, only system turns, ...)."""


@dataclass(frozen=True)
class DraftSource:
    number: int
    kind: str  # policy, case, turn
    ref: str  # document#section, case id, interaction#turn-n
    label: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "kind": self.kind,
            "ref": self.ref,
            "label": self.label,
        }


@dataclass(frozen=True)
class Draft:
    interaction_id: str
    customer_id: str | None
    text: str
    sources: list[DraftSource] = field(default_factory=list)
    case_id: str | None = None
    policy: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    generator: str = COMPOSER
    prompt: str = "none"
    output_check: dict[str, Any] | None = None
    fallback_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id,
            "customer_id": self.customer_id,
            "text": self.text,
            "sources": [source.to_dict() for source in self.sources],
            "case_id": self.case_id,
            "policy": self.policy,
            "notes": self.notes,
            "generator": self.generator,
            "prompt": self.prompt,
            "output_check": self.output_check,
            "fallback_reason": self.fallback_reason,
        }


def _intent_words(intent: str | None) -> set[str]:
    return {w for w in re.split(r"[/_\-\s]+", (intent or "").casefold()) if w}


def _matches_intent(passage: Passage, intent: str | None) -> bool:
    words = _intent_words(intent)
    name = f"{passage.document_id} {passage.title}".casefold()
    return bool(words) and all(word in name for word in words)


def case_for(view: CustomerView | None, intent: str | None) -> CaseView | None:
    """The customer's case for this conversation: open ones first, same intent first."""
    if view is None or not view.cases:
        return None
    same = [c for c in view.cases if intent and c.intent == intent]
    pool = same or view.cases
    live = [c for c in pool if c.status in {"open", "pending"}]
    chosen = live or (pool if same else [])
    return max(chosen, key=lambda c: c.updated_at) if chosen else None


class Drafter:
    def __init__(
        self,
        retriever: Retriever,
        checker: OutputChecker,
        generator: Generator | None = None,
        risk_log: RiskLog | None = None,
        k: int = 8,
    ) -> None:
        self._retriever = retriever
        self._checker = checker
        self._generator = generator
        self._risk_log = risk_log
        self._k = k

    def draft(
        self,
        interaction: StoredInteraction,
        customer: CustomerView | None = None,
        request_id: str | None = None,
    ) -> Draft:
        """The next agent message for this conversation, each sentence cited."""
        unreadable = why_unreadable(interaction)
        if unreadable:
            raise NothingToDraftError(
                f"no draft for interaction {interaction.id!r}: {unreadable}"
            )
        case = case_for(customer, interaction.intent)
        if case is not None and case.status not in {"open", "pending"}:
            raise DraftRefusedError(
                f"case {case.id} of interaction {interaction.id!r} is {case.status}"
                + (f" since {case.closed_at:%Y-%m-%d}" if case.closed_at else "")
                + "; drafts are written for open or pending cases only"
            )
        if customer is not None and not customer.allows(Purpose.AI_ASSISTANCE):
            raise DraftRefusedError(
                f"customer {customer.id} has withdrawn AI-assistance consent; no "
                "draft is written from their conversation"
            )
        composed = self._checked(self._compose(interaction, customer, case))
        if self._generator is None or not self._generator.available:
            return composed
        return self._generated(composed, interaction, request_id)

    def _checked(self, composed: Draft) -> Draft:
        """The composed draft after the output check; withheld unless it passes."""
        if not composed.text:
            return composed
        passages = [SourcePassage(s.number, s.text, s.ref) for s in composed.sources]
        check = self._checker.check(composed.text, passages)
        if check.decision is Decision.ALLOW:
            return replace(composed, output_check=check.to_dict())
        return replace(
            composed,
            text="",
            output_check=check.to_dict(),
            notes=[*composed.notes, "the composed draft failed the output check"],
        )

    # Composing from sources -----------------------------------------------

    def _policy(self, interaction: StoredInteraction, need: str) -> list[Passage]:
        intent = (interaction.intent or "").replace("_", " ").replace("/", ": ")
        query = f"{intent} {need}".strip()
        if not query:
            return []
        found = self._retriever.search(query, k=self._k)
        if not found:
            return []
        matching = [p for p in found if _matches_intent(p, interaction.intent)]
        best = (matching or found)[0]
        return [p for p in found if p.document_id == best.document_id][:2]

    def _compose(
        self,
        interaction: StoredInteraction,
        customer: CustomerView | None,
        case: CaseView | None,
    ) -> Draft:
        summary = summarize_interaction(interaction)
        turns = {turn.number: turn.text for turn in interaction.turns}
        sources: list[DraftSource] = []
        said: list[str] = []
        notes: list[str] = []

        def cite(kind: str, ref: str, label: str, text: str) -> int:
            for source in sources:
                if source.ref == ref:
                    return source.number
            sources.append(DraftSource(len(sources) + 1, kind, ref, label, text))
            return len(sources)

        need = next(
            (line for line in summary.brief if line.field is Field.REASON), None
        )
        if need is not None:
            n = cite(
                "turn",
                f"{interaction.id}#turn-{need.turns[0]}",
                f"customer, turn {need.turns[0]}",
                turns[need.turns[0]],
            )
            said.append(f"You told us: {need.text.rstrip('.!?')}. [{n}]")
        for line in summary.field_lines(Field.ACTIONS)[-2:]:
            if line.turns and line.speaker != "customer":
                n = cite(
                    "turn",
                    f"{interaction.id}#turn-{line.turns[0]}",
                    f"{line.speaker}, turn {line.turns[0]}",
                    turns[line.turns[0]],
                )
                said.append(f"Done so far: {line.text.rstrip('.!?')}. [{n}]")
        if case is not None:
            case_text = f"case {case.id} is {case.status}: {case.intent or 'no intent'}"
            if case.next_action:
                case_text += f"; next action: {case.next_action}"
            n = cite("case", case.id, f"case {case.id}", case_text)
            said.append(f"Your case {case.id} is {case.status}. [{n}]")
            if case.next_action:
                said.append(f"Next step: {case.next_action.rstrip('.!?')}. [{n}]")
        passages = self._policy(interaction, need.text if need else "")
        marketing = customer is not None and customer.allows(Purpose.MARKETING)
        policy = None
        for passage in passages:
            said_steps = [s for s in sentences(passage.body) if not s.endswith(":")]
            steps = [s for s in said_steps if marketing or not _MARKETING.search(s)]
            if len(steps) < len(said_steps):
                notes.append(
                    "policy steps about offers were left out: no marketing consent"
                )
            if not steps:
                continue
            n = cite(
                "policy",
                f"{passage.document_id}#{passage.section}",
                f"{passage.title} › {passage.section}",
                passage.body,
            )
            if policy is None:
                policy = {
                    "document_id": passage.document_id,
                    "title": passage.title,
                    "section": passage.section,
                    "score": round(passage.score, 4),
                    "chunk_id": passage.chunk_id,
                }
            said.extend(f"{step.rstrip('.!?')}. [{n}]" for step in steps[:_STEPS_KEPT])
        if not passages:
            notes.append("no policy passage was found for this conversation")
        return Draft(
            interaction.id,
            customer.id if customer else None,
            " ".join(said),
            sources,
            case.id if case else None,
            policy,
            sorted(set(notes)),
        )

    # Generating with a language model --------------------------------------

    def _generated(
        self, composed: Draft, interaction: StoredInteraction, request_id: str | None
    ) -> Draft:
        assert self._generator is not None
        prompt = load_prompt("draft")
        passages = [SourcePassage(s.number, s.text, s.ref) for s in composed.sources]
        conversation = "\n".join(
            f"{turn.speaker} (turn {turn.number}): {turn.text}"
            for turn in interaction.turns[-12:]
        )
        prose = write_checked(
            self._generator,
            prompt,
            {"sources": numbered(passages), "conversation": conversation},
            passages,
            self._checker,
            self._risk_log,
            text_id("draft", interaction.id + composed.text),
            DRAFT_ACTOR,
            allowed_context=[conversation],
            request_id=request_id,
        )
        if prose.text is None:
            return replace(
                composed,
                output_check=prose.check,
                fallback_reason=prose.fallback_reason,
                notes=[*composed.notes, "the generated draft was withheld"],
            )
        return replace(
            composed,
            text=prose.text,
            generator=prose.model,
            prompt=prose.prompt,
            output_check=prose.check
            or {"decision": Decision.ALLOW.value, "reasons": []},
        )


def draft_events(draft: Draft) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events of a draft: a sentence at a time, then the rest.

    Generated text is checked whole before any of it leaves, so the sentences
    stream once the check has passed (or the composed draft took its place).
    """
    # Read as the output check reads it: each sentence with the markers that
    # follow it, so that the events and `output_check.sentences` agree.
    for index, claim in enumerate(claims(draft.text), start=1):
        yield (
            "sentence",
            {"index": index, "text": claim.text, "citations": list(claim.citations)},
        )
    body = draft.to_dict()
    body.pop("text")
    yield "done", body
