"""A customer's contacts across channels in time order, with handoffs and repeats."""

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cx_context.context.records import CaseView
from cx_context.knowledge.catalog import StoredInteraction

# Words a handler uses when it passes the customer on. An offer ("I can
# escalate to my manager if you'd like") is not a transfer. The scorecard's
# transfer checks read the same words, so both count the same handoffs.
ANNOUNCED_TRANSFER = re.compile(
    r"\b(?:transferr?(?:ed|ing)? you|i(?:'ll| will) transfer|put(?:ting)? you through"
    r"|hand(?:ed|ing)? you (?:over|to)|connect(?:ed|ing)? you (?:to|with)"
    r"|escalat(?:ed|ing) (?:this|you|your))\b",
    re.IGNORECASE,
)
# A later contact counts as a channel switch of the same journey only this soon.
CHANNEL_SWITCH_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Handoff:
    """A customer passed from one handler or channel to another."""

    kind: str  # bot_to_agent, agent_transfer, channel_switch
    from_interaction: str
    to_interaction: str
    turn: int | None
    at: datetime | None
    detail: str


@dataclass(frozen=True)
class TimelineEntry:
    interaction_id: str
    channel: str
    source_system: str
    started_at: datetime | None
    ended_at: datetime | None
    intent: str | None
    outcome: str | None
    turn_count: int
    repeat_of: str | None = None


@dataclass
class Timeline:
    party_id: str
    entries: list[TimelineEntry] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    open_cases: list[CaseView] = field(default_factory=list)
    window_days: float = 7.0

    @property
    def repeat_contacts(self) -> int:
        return sum(1 for entry in self.entries if entry.repeat_of)

    def as_dict(self) -> dict[str, Any]:
        return {
            "party_id": self.party_id,
            "repeat_window_days": self.window_days,
            "repeat_contacts": self.repeat_contacts,
            "entries": [asdict(entry) for entry in self.entries],
            "handoffs": [asdict(handoff) for handoff in self.handoffs],
            "open_cases": [case.model_dump() for case in self.open_cases],
        }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _in_conversation(interaction: StoredInteraction) -> list[Handoff]:
    """Handoffs inside one conversation: bot to a person, person to person."""
    found: list[Handoff] = []
    previous: str | None = None
    for turn in interaction.turns:
        speaker = turn.speaker
        if previous == "bot" and speaker == "agent":
            found.append(
                Handoff(
                    "bot_to_agent",
                    interaction.id,
                    interaction.id,
                    turn.number,
                    _utc(interaction.started_at),
                    f"the bot handed over to an agent at turn {turn.number}",
                )
            )
        if speaker in {"agent", "system"} and ANNOUNCED_TRANSFER.search(turn.text):
            found.append(
                Handoff(
                    "agent_transfer",
                    interaction.id,
                    interaction.id,
                    turn.number,
                    _utc(interaction.started_at),
                    f"{speaker} passed the customer on at turn {turn.number}",
                )
            )
        if speaker in {"bot", "agent"}:
            previous = speaker
    return found


def build_timeline(
    party_id: str,
    interactions: Sequence[StoredInteraction],
    open_cases: Sequence[CaseView],
    repeat_window: timedelta = timedelta(days=7),
) -> Timeline:
    """Order contacts, find handoffs and flag repeat contacts within the window.

    A contact repeats an earlier one when it starts within the window after it
    and, where both carry an intent, about the same intent.
    """
    far_past = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(interactions, key=lambda i: (_utc(i.started_at) or far_past, i.id))
    timeline = Timeline(
        party_id,
        open_cases=list(open_cases),
        window_days=repeat_window.total_seconds() / 86400,
    )
    for index, interaction in enumerate(ordered):
        started = _utc(interaction.started_at)
        repeat_of = None
        for earlier in reversed(ordered[:index]):
            earlier_start = _utc(earlier.started_at)
            if started is None or earlier_start is None:
                continue
            if started - earlier_start > repeat_window:
                break
            intents = (interaction.intent, earlier.intent)
            if all(intents) and intents[0] != intents[1]:
                continue
            repeat_of = earlier.id
            break
        timeline.entries.append(
            TimelineEntry(
                interaction_id=interaction.id,
                channel=interaction.channel,
                source_system=interaction.source_system,
                started_at=started,
                ended_at=_utc(interaction.ended_at),
                intent=interaction.intent,
                outcome=interaction.outcome,
                turn_count=len(interaction.turns),
                repeat_of=repeat_of,
            )
        )
        timeline.handoffs.extend(_in_conversation(interaction))
        if index > 0:
            before = ordered[index - 1]
            before_end = _utc(before.ended_at) or _utc(before.started_at)
            if (
                before.channel != interaction.channel
                and started is not None
                and before_end is not None
                and timedelta(0) <= started - before_end <= CHANNEL_SWITCH_WINDOW
            ):
                timeline.handoffs.append(
                    Handoff(
                        "channel_switch",
                        before.id,
                        interaction.id,
                        None,
                        started,
                        f"{before.channel} to {interaction.channel} within "
                        f"{(started - before_end).total_seconds() / 3600:.1f} h",
                    )
                )
    return timeline
