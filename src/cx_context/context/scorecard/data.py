"""What the scorecard reads: contacts with their customer link, cases and events."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.context.store import CaseRow, EventRow, InteractionLinkRow, PartyRow
from cx_context.knowledge.database import InteractionRow


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ContactTurn:
    speaker: str
    text: str


@dataclass(frozen=True)
class Contact:
    """One interaction as the scorecard sees it (redacted text only)."""

    id: str
    channel: str
    started_at: datetime | None
    ended_at: datetime | None
    intent: str | None
    outcome: str | None
    party_id: str | None
    confidence: float | None
    satisfaction_score: float | None
    sentiment: str | None
    transferred_from: str | None
    turns: tuple[ContactTurn, ...]

    @property
    def ends(self) -> datetime | None:
        return self.ended_at or self.started_at


@dataclass(frozen=True)
class CaseFact:
    party_id: str
    intent: str | None
    status: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class EventFact:
    id: str
    party_id: str | None
    event_time: datetime | None
    received_at: datetime
    lag_seconds: float | None
    status: str


@dataclass(frozen=True)
class Estate:
    """Everything one scorecard is computed from."""

    contacts: Sequence[Contact]
    cases: Sequence[CaseFact]
    events: Sequence[EventFact]


def load_estate(sessions: sessionmaker[Session]) -> Estate:
    """Read contacts, cases and events; merged customers count as their survivor."""
    with sessions() as session:
        survivor = _survivors(session)
        links = {
            row.interaction_id: (row.party_id, row.confidence)
            for row in session.scalars(select(InteractionLinkRow))
        }
        contacts = []
        for row in session.scalars(select(InteractionRow)):
            party, confidence = links.get(row.id, (None, None))
            contacts.append(
                Contact(
                    id=row.id,
                    channel=row.channel,
                    started_at=_utc(row.started_at),
                    ended_at=_utc(row.ended_at),
                    intent=row.intent,
                    outcome=row.outcome,
                    party_id=survivor.get(party, party) if party else None,
                    confidence=confidence,
                    satisfaction_score=row.satisfaction_score,
                    sentiment=row.sentiment,
                    transferred_from=row.transferred_from,
                    turns=tuple(
                        ContactTurn(turn["speaker"], turn["text"]) for turn in row.turns
                    ),
                )
            )
        cases = [
            CaseFact(
                party_id=survivor.get(row.party_id, row.party_id),
                intent=row.intent,
                status=row.status,
                opened_at=_utc(row.opened_at) or row.opened_at,
                closed_at=_utc(row.closed_at),
            )
            for row in session.scalars(select(CaseRow))
        ]
        events = [
            EventFact(
                id=row.id,
                party_id=row.party_id,
                event_time=_utc(row.event_time),
                received_at=_utc(row.received_at) or row.received_at,
                lag_seconds=row.lag_seconds,
                status=row.status,
            )
            for row in session.scalars(select(EventRow))
        ]
    return Estate(contacts, cases, events)


def _survivors(session: Session) -> dict[str, str]:
    merged = {
        row.id: row.merged_into
        for row in session.scalars(
            select(PartyRow).where(PartyRow.merged_into.is_not(None))
        )
        if row.merged_into
    }
    result = {}
    for party in merged:
        current, seen = party, {party}
        while current in merged and merged[current] not in seen:
            current = merged[current]
            seen.add(current)
        result[party] = current
    return result
