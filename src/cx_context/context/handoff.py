"""Handoff summary: what an agent needs before speaking to a customer, across channels.

From the customer's recent interactions on every channel (bot, chat, voice,
email, ...) and their record: what they want, what they said and provided
(and whether their identity was verified), what the bot or the previous agent
did and promised, what failed, and what is still open. Every line cites the
interaction and turn it came from (or the case it names), so the agent can
check it. The lines are extractive; with a language model configured, a short
prose note is written from them and released only if it passes the output check.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cx_context.context.readable import why_unreadable
from cx_context.context.records import CaseView, CustomerView, Purpose
from cx_context.context.summaries import Field, Summary, summarize_interaction
from cx_context.context.timeline import Handoff, build_timeline
from cx_context.knowledge.catalog import StoredInteraction


class Section(StrEnum):
    WANTS = "wants"
    SAID = "said"
    PROVIDED = "provided"
    DONE = "done"
    PROMISED = "promised"
    FAILED = "failed"
    OPEN = "open"


SECTION_TITLES = {
    Section.WANTS: "What the customer wants",
    Section.SAID: "What they already said",
    Section.PROVIDED: "What they provided",
    Section.DONE: "What the bot or agents did",
    Section.PROMISED: "What was promised",
    Section.FAILED: "What failed",
    Section.OPEN: "What is still open",
}

_VERIFIED = re.compile(
    r"\b(?:identity (?:verified|confirmed|checked)|verified (?:your|the|their) "
    r"(?:identity|account)|account has been pulled up|pulled up (?:your|the) account|"
    r"validated|verification (?:complete|passed|successful))",
    re.IGNORECASE,
)
_FAILURE = re.compile(
    r"\b(?:(?:i|we) (?:can't|cannot|couldn't|could not|am unable|are unable|was "
    r"unable|don't understand|didn't understand|did not understand)|unable to|"
    r"not able to|unfortunately|didn't work|did not work|failed|error|"
    r"not (?:possible|eligible)|still (?:not|no|waiting|haven't)|again)\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"<([A-Z_]+?)_\d+>")
_KIND_NAMES = {
    "EMAIL_ADDRESS": "email address",
    "PHONE_NUMBER": "phone number",
    "PERSON": "name",
    "USERNAME": "username",
    "ORDER_ID": "order id",
    "ACCOUNT_ID": "account id",
    "ACCOUNT_NUMBER": "account number",
    "STREET_ADDRESS": "street address",
    "POSTCODE": "postcode",
    "ZIP_CODE": "zip code",
    "DATE_OF_BIRTH": "date of birth",
    "MEMBERSHIP_ID": "membership id",
    "CREDIT_CARD": "card number",
}


@dataclass(frozen=True)
class HandoffLine:
    section: Section
    text: str
    speaker: str
    channel: str
    interaction_id: str | None
    turns: list[int]
    case_id: str | None = None

    @property
    def source(self) -> str:
        if self.case_id:
            return f"case:{self.case_id}"
        turns = ",".join(str(t) for t in self.turns)
        return (
            f"{self.interaction_id}#turn-{turns}" if turns else str(self.interaction_id)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section.value,
            "text": self.text,
            "speaker": self.speaker,
            "channel": self.channel,
            "interaction_id": self.interaction_id,
            "turns": self.turns,
            "case_id": self.case_id,
            "source": self.source,
        }


@dataclass
class HandoffSummary:
    customer_id: str
    interactions: list[dict[str, Any]] = field(default_factory=list)
    identity_verified: bool = False
    lines: list[HandoffLine] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    generator: str = "extractive-v2"
    prose: dict[str, Any] | None = None
    # Why there is nothing to summarize, when there is not.
    empty_reason: str | None = None

    def section(self, name: Section) -> list[HandoffLine]:
        return [line for line in self.lines if line.section is name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "interactions": self.interactions,
            "identity_verified": self.identity_verified,
            "sections": {
                name.value: [line.to_dict() for line in self.section(name)]
                for name in Section
            },
            "handoffs": self.handoffs,
            "skipped": self.skipped,
            "generator": self.generator,
            "prose": self.prose,
            "empty_reason": self.empty_reason,
        }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recent(
    interactions: Sequence[StoredInteraction], limit: int, window: timedelta
) -> list[StoredInteraction]:
    """The latest interactions, oldest first: at most `limit`, within the window."""
    far = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(interactions, key=lambda i: (_utc(i.started_at) or far, i.id))
    kept = ordered[-limit:]
    latest = _utc(kept[-1].started_at) if kept else None
    if latest is None:
        return kept
    return [
        i for i in kept if (_utc(i.started_at) or latest) >= latest - window
    ] or kept[-1:]


def build_handoff(
    view: CustomerView,
    interactions: Sequence[StoredInteraction],
    summaries: dict[str, Summary] | None = None,
    limit: int = 5,
    window: timedelta = timedelta(days=30),
) -> HandoffSummary:
    """The handoff summary of a customer from their record and recent contacts."""
    result = HandoffSummary(view.id)
    chosen = recent(interactions, limit, window)
    result.interactions = [
        {
            "interaction_id": i.id,
            "channel": i.channel,
            "started_at": started.isoformat()
            if (started := _utc(i.started_at))
            else None,
            "intent": i.intent,
            "outcome": i.outcome,
            "turn_count": len(i.turns),
        }
        for i in chosen
    ]
    if not view.allows(Purpose.AI_ASSISTANCE):
        result.empty_reason = (
            f"customer {view.id} has withdrawn AI-assistance consent: their "
            "conversations are not summarized; only their open cases are listed"
        )
        chosen = []
    elif not chosen:
        result.empty_reason = f"customer {view.id} has no interactions on record"
    summaries = summaries or {}
    readable = []
    for interaction in chosen:
        reason = why_unreadable(interaction)
        if reason:
            result.skipped.append({"interaction_id": interaction.id, "reason": reason})
        else:
            readable.append(interaction)
    if chosen and not readable:
        result.empty_reason = "none of the customer's recent interactions can be " + (
            "summarized: " + "; ".join(s["reason"] for s in result.skipped)
        )
    for interaction in readable:
        summary = summaries.get(interaction.id) or summarize_interaction(interaction)
        _from_interaction(result, interaction, summary)
    timeline = build_timeline(view.id, readable, view.open_cases)
    for handoff in timeline.handoffs:
        result.handoffs.append(_handoff_dict(handoff))
    _open_cases(result, view.open_cases)
    return result


def _add(
    result: HandoffSummary,
    section: Section,
    interaction: StoredInteraction,
    speaker: str,
    text: str,
    turns: list[int],
) -> None:
    key = (section, text.casefold())
    if any((line.section, line.text.casefold()) == key for line in result.lines):
        return
    result.lines.append(
        HandoffLine(section, text, speaker, interaction.channel, interaction.id, turns)
    )


def _from_interaction(
    result: HandoffSummary, interaction: StoredInteraction, summary: Summary
) -> None:
    for line in summary.lines:
        if not line.turns:
            continue
        if line.field is Field.REASON:
            _add(
                result, Section.WANTS, interaction, line.speaker, line.text, line.turns
            )
        elif line.field is Field.PROBLEM:
            _add(result, Section.SAID, interaction, line.speaker, line.text, line.turns)
        elif line.field in {Field.ACTIONS, Field.OUTCOME}:
            section = (
                Section.FAILED
                if line.speaker != "customer" and _FAILURE.search(line.text)
                else Section.DONE
            )
            _add(result, section, interaction, line.speaker, line.text, line.turns)
        elif line.field is Field.OPEN:
            section = Section.OPEN if line.speaker == "customer" else Section.PROMISED
            _add(result, section, interaction, line.speaker, line.text, line.turns)
    _provided(result, interaction)


def _provided(result: HandoffSummary, interaction: StoredInteraction) -> None:
    """What the customer gave (by placeholder type), whether identity was verified."""
    provided: dict[str, list[int]] = {}
    for turn in interaction.turns:
        if turn.speaker == "customer":
            for kind in _PLACEHOLDER.findall(turn.text):
                provided.setdefault(_KIND_NAMES.get(kind, kind.lower()), []).append(
                    turn.number
                )
        elif _VERIFIED.search(turn.text):
            result.identity_verified = True
            _add(
                result,
                Section.PROVIDED,
                interaction,
                turn.speaker,
                f"identity verified ({turn.speaker}, {interaction.channel})",
                [turn.number],
            )
    for kind, turns in provided.items():
        _add(
            result,
            Section.PROVIDED,
            interaction,
            "customer",
            f"gave their {kind} ({interaction.channel})",
            sorted(set(turns)),
        )
    # A bot that failed to help is worth saying out loud: its own words first.
    for turn in interaction.turns:
        if turn.speaker == "bot" and _FAILURE.search(turn.text):
            _add(
                result,
                Section.FAILED,
                interaction,
                "bot",
                turn.text.strip(),
                [turn.number],
            )
            break


def _handoff_dict(handoff: Handoff) -> dict[str, Any]:
    return {
        "kind": handoff.kind,
        "from_interaction": handoff.from_interaction,
        "to_interaction": handoff.to_interaction,
        "turn": handoff.turn,
        "detail": handoff.detail,
    }


def _open_cases(result: HandoffSummary, cases: Sequence[CaseView]) -> None:
    for case in cases:
        text = f"case {case.id} is {case.status}: {case.intent or 'no intent'}"
        if case.subject:
            text += f"; {case.subject}"
        if case.next_action:
            text += f"; next action: {case.next_action}"
        result.lines.append(
            HandoffLine(
                Section.OPEN,
                text,
                "record",
                case.owning_channel or "record",
                None,
                [],
                case_id=case.id,
            )
        )
