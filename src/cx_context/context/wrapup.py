"""After-contact wrap-up of one interaction: reason, resolution, actions, follow-ups.

Built from the interaction's extractive summary (each line citing its turns),
with follow-ups read from the staff's promises and the customer's open cases
(who owes the next step, and by when), and a disposition code from a
configurable list: the first code whose cue words the ending, the follow-ups
or the recorded outcome carry; the last code when none does.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from cx_context.context.readable import why_unreadable
from cx_context.context.records import CaseView
from cx_context.context.summaries import Field, Summary, SummaryLine
from cx_context.knowledge.catalog import StoredInteraction

# Code -> cue words, in the order they are tried; the last is the fallback.
DEFAULT_DISPOSITIONS: dict[str, list[str]] = {
    "escalated": ["escalat", "supervisor", "manager", "specialist team"],
    "transferred": ["transferr", "put you through", "connect you", "hand you over"],
    "resolved_with_follow_up": [
        "will ",
        "'ll ",
        "within",
        "follow up",
        "follow-up",
        "get back to you",
        "pending",
        "next action",
    ],
    "resolved": [
        "all set",
        "taken care",
        "done",
        "resolved",
        "processed",
        "refunded",
        "fixed",
        "updated",
        "completed",
        "success",
    ],
    "unresolved": [],
}


def check_dispositions(codes: Mapping[str, Sequence[str]]) -> None:
    """A usable disposition list: codes are short names, the last one a fallback."""
    if not codes:
        raise ValueError("disposition codes must name at least one code")
    for code in codes:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", code):
            raise ValueError(
                "disposition codes must be lower-case names of letters, digits and "
                f"underscores, got {code!r}"
            )


@dataclass(frozen=True)
class FollowUp:
    text: str
    owner: str  # agent, team, customer, or a case's owning channel
    due: date | None
    due_text: str | None
    source: str  # "<interaction>#turn-<n>" or "case:<id>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "owner": self.owner,
            "due": self.due.isoformat() if self.due else None,
            "due_text": self.due_text,
            "source": self.source,
        }


@dataclass(frozen=True)
class WrapUp:
    interaction_id: str
    channel: str
    intent: str | None
    reason: list[SummaryLine] = field(default_factory=list)
    resolution: list[SummaryLine] = field(default_factory=list)
    actions: list[SummaryLine] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    disposition: str | None = None
    disposition_cue: str | None = None
    generator: str = "extractive-v2"
    prompt: str = "none"
    # Why the wrap-up is empty, when it is: nothing is invented for it.
    empty_reason: str | None = None
    # With a language model: its note and the output check's verdict on it.
    prose: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id,
            "channel": self.channel,
            "intent": self.intent,
            "reason": [line.to_dict() for line in self.reason],
            "resolution": [line.to_dict() for line in self.resolution],
            "actions": [line.to_dict() for line in self.actions],
            "follow_ups": [item.to_dict() for item in self.follow_ups],
            "disposition": self.disposition,
            "disposition_cue": self.disposition_cue,
            "generator": self.generator,
            "prompt": self.prompt,
            "empty_reason": self.empty_reason,
            "prose": self.prose,
        }


_SELF = re.compile(r"\b(?:i will|i'll|i am going to|let me|i have asked)\b", re.I)
_TEAM = re.compile(
    r"\b(?:we will|we'll|our team|they will|the team|someone will|a specialist)\b",
    re.I,
)
_CUSTOMER = re.compile(
    r"\b(?:you will need|you'll need|you need to|please|you can|you should|"
    r"you will have to)\b",
    re.I,
)
_UNIT_DAYS = {"hour": 1 / 24, "day": 1.0, "week": 7.0, "month": 30.0}
_WITHIN = re.compile(
    r"\b(?:within|in|up to|about)\s+(?:the next\s+)?(\d+)(?:\s*(?:-|to)\s*(\d+))?\s*"
    r"(business |working )?(hour|day|week|month)s?\b",
    re.I,
)
_WORD_DAYS = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "next week": 7,
    "less than a week": 7,
    "less than a day": 1,
    "less than a month": 30,
}
_WORD_DUE = re.compile(
    r"\b(today|tonight|tomorrow|next week|less than a (?:week|day|month))\b", re.I
)


def _add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def due_date(text: str, said_on: datetime | None) -> tuple[date | None, str | None]:
    """When a promise falls due, from "within 3-5 business days", "tomorrow", ..."""
    match = _WITHIN.search(text)
    if match:
        amount = int(match.group(2) or match.group(1))
        unit = match.group(4).lower()
        if said_on is None:
            return None, match.group(0)
        start = said_on.date()
        if match.group(3) and unit == "day":
            return _add_business_days(start, amount), match.group(0)
        return start + timedelta(days=amount * _UNIT_DAYS[unit]), match.group(0)
    word = _WORD_DUE.search(text)
    if word:
        if said_on is None:
            return None, word.group(0)
        offset = _WORD_DAYS[word.group(1).lower()]
        return said_on.date() + timedelta(days=offset), word.group(0)
    return None, None


def _owner(line: SummaryLine) -> str:
    if line.speaker == "customer":
        return "customer"
    if _SELF.search(line.text):
        return line.speaker  # the agent or bot who said it
    if _TEAM.search(line.text):
        return "team"
    if _CUSTOMER.search(line.text):
        return "customer"
    return line.speaker


def wrap_up(
    interaction: StoredInteraction,
    summary: Summary,
    dispositions: Mapping[str, Sequence[str]] = DEFAULT_DISPOSITIONS,
    cases: Sequence[CaseView] = (),
) -> WrapUp:
    """The wrap-up of one interaction from its summary and its open cases."""
    empty = why_unreadable(interaction)
    if empty is not None:
        return WrapUp(
            interaction.id,
            interaction.channel,
            interaction.intent,
            generator=summary.generator,
            empty_reason=empty,
        )
    said_on = interaction.ended_at or interaction.started_at
    cited = [line for line in summary.lines if line.turns]
    follow_ups = []
    for line in summary.field_lines(Field.OPEN):
        due, due_text = due_date(line.text, said_on)
        follow_ups.append(
            FollowUp(
                line.text,
                _owner(line),
                due,
                due_text,
                f"{interaction.id}#turn-{line.turns[0]}" if line.turns else "",
            )
        )
    for case in cases:
        if case.status in {"open", "pending"} and case.next_action:
            due, due_text = due_date(case.next_action, case.updated_at)
            follow_ups.append(
                FollowUp(
                    case.next_action,
                    case.owning_channel or "team",
                    due,
                    due_text,
                    f"case:{case.id}",
                )
            )
    code, cue = _disposition(summary, follow_ups, interaction.outcome, dispositions)
    return WrapUp(
        interaction.id,
        interaction.channel,
        interaction.intent,
        reason=[line for line in cited if line.field is Field.REASON],
        resolution=summary.field_lines(Field.OUTCOME),
        actions=[line for line in cited if line.field is Field.ACTIONS],
        follow_ups=follow_ups,
        disposition=code,
        disposition_cue=cue,
        generator=summary.generator,
    )


def _disposition(
    summary: Summary,
    follow_ups: Sequence[FollowUp],
    outcome: str | None,
    dispositions: Mapping[str, Sequence[str]],
) -> tuple[str, str | None]:
    ending = " ".join(
        [
            *(line.text for line in summary.field_lines(Field.OUTCOME)),
            *(item.text for item in follow_ups),
            outcome or "",
        ]
    ).casefold()
    codes = list(dispositions)
    for code in codes:
        for cue in dispositions[code]:
            if cue.casefold() in ending:
                return code, cue
    return codes[-1], None
