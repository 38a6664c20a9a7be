"""State changes from source systems, as CloudEvents, applied once each.

Every event is applied in its own transaction and recorded by its id: a
repeated id is reported as a duplicate and changes nothing; an event that
cannot be applied is recorded as rejected with its reason. The lag between an
event's time and its arrival is kept, for the data-latency measure.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cx_context.context.customers import CustomerStore, Redact, utc
from cx_context.context.errors import ConflictError, ContextError, NotFoundError
from cx_context.context.identity.errors import IdentityError
from cx_context.context.records import CaseIn, ConsentIn, IdentifierIn
from cx_context.context.store import CaseRow, EventRow, InteractionLinkRow, PartyRow
from cx_context.knowledge.database import InteractionRow
from cx_context.knowledge.errors import describe_validation_error
from cx_context.knowledge.records import CLOCK_SKEW, Sentiment, check_not_future

logger = logging.getLogger(__name__)

CASE_OPENED = "cx.case.opened"
CASE_UPDATED = "cx.case.updated"
CONSENT_CHANGED = "cx.consent.changed"
INTERACTION_ENDED = "cx.interaction.ended"
IDENTIFIER_SEEN = "cx.identifier.seen"
EVENT_TYPES = (
    CASE_OPENED,
    CASE_UPDATED,
    CONSENT_CHANGED,
    INTERACTION_ENDED,
    IDENTIFIER_SEEN,
)


class EventRejectedError(ContextError):
    """An event that cannot be applied; the reason is recorded with its id."""


@dataclass(frozen=True)
class EventOutcome:
    position: int
    id: str | None
    status: str  # applied, duplicate, rejected
    reason: str | None = None
    lag_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """As reported to a caller: positions count from 1."""
        return {
            "position": self.position + 1,
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "lag_seconds": self.lag_seconds,
        }


def outcome_counts(outcomes: Sequence[EventOutcome]) -> dict[str, int]:
    return {
        status: sum(1 for o in outcomes if o.status == status)
        for status in ("applied", "duplicate", "rejected")
    }


# What the events table keeps of each attribute (a longer one would fail there).
_ATTRIBUTE_LIMITS = {
    name: column.type.length
    for name in ("id", "source", "type", "subject")
    if isinstance((column := EventRow.__table__.c[name]).type, String)
}


def parse_event(raw: Any) -> CloudEvent:
    """A structured-mode CloudEvent (JSON object) with the attributes we need."""
    if not isinstance(raw, dict):
        raise EventRejectedError(
            f"an event must be a JSON object, got {type(raw).__name__}"
        )
    attributes = dict(raw)
    data = attributes.pop("data", None)
    missing = [name for name in ("id", "source", "type", "time") if name not in raw]
    if missing:
        raise EventRejectedError(f"missing required attribute(s): {', '.join(missing)}")
    for name, limit in _ATTRIBUTE_LIMITS.items():
        value = raw.get(name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise EventRejectedError(
                f"{name} is {len(value)} characters; the limit is {limit}"
            )
    if isinstance(attributes["time"], str):
        try:
            attributes["time"] = datetime.fromisoformat(attributes["time"])
        except ValueError:
            raise EventRejectedError("time is not an RFC 3339 timestamp") from None
    attributes.setdefault("specversion", "1.0")
    try:
        return CloudEvent(attributes, data)
    except (BaseCloudEventException, ValueError, TypeError) as exc:
        raise EventRejectedError(f"not a valid CloudEvent: {exc}") from None


class EventApplier:
    """Applies CloudEvents to the customer record, idempotently by event id."""

    def __init__(
        self, sessions: sessionmaker[Session], customers: CustomerStore, redact: Redact
    ) -> None:
        self._sessions = sessions
        self._customers = customers
        self._redact = redact

    def apply_many(self, raws: Sequence[Any]) -> list[EventOutcome]:
        return [self.apply(raw, position) for position, raw in enumerate(raws)]

    def apply(self, raw: Any, position: int = 0) -> EventOutcome:
        received = datetime.now(UTC)
        event_id = raw.get("id") if isinstance(raw, dict) else None
        event_id = str(event_id) if event_id is not None else None
        try:
            event = parse_event(raw)
        except EventRejectedError as exc:
            return EventOutcome(position, event_id, "rejected", str(exc))
        event_id = event.get_id()
        with self._sessions() as session:
            earlier = session.get(EventRow, event_id)
            # A rejected event may be sent again (its customer may exist now);
            # only an applied one is a duplicate.
            if earlier is not None and earlier.status == "applied":
                return EventOutcome(position, event_id, "duplicate", "already applied")
        time = event.get_time()
        lag = (received - utc(time)).total_seconds() if time else None
        if time is not None and utc(time) > received + CLOCK_SKEW:
            return self._record(
                event, position, received, lag, "event time is in the future"
            )
        try:
            party = self._apply(event)
        except (EventRejectedError, NotFoundError, ConflictError, IdentityError) as exc:
            return self._record(event, position, received, lag, str(exc))
        except ValidationError as exc:
            return self._record(
                event,
                position,
                received,
                lag,
                "data: " + describe_validation_error(exc),
            )
        return self._record(event, position, received, lag, None, party)

    def _record(
        self,
        event: CloudEvent,
        position: int,
        received: datetime,
        lag: float | None,
        reason: str | None,
        party: str | None = None,
    ) -> EventOutcome:
        status = "rejected" if reason else "applied"
        try:
            with self._sessions.begin() as session:
                earlier = session.get(EventRow, event.get_id())
                if earlier is not None and earlier.status == "applied":
                    # The same id was applied meanwhile, by another request.
                    return EventOutcome(
                        position, event.get_id(), "duplicate", "already applied"
                    )
                if earlier is not None:
                    session.delete(earlier)
                    session.flush()
                session.add(
                    EventRow(
                        id=event.get_id(),
                        source=event.get_source(),
                        type=event.get_type(),
                        subject=event.get_subject(),
                        event_time=event.get_time(),
                        received_at=received,
                        lag_seconds=lag,
                        status=status,
                        reason=reason,
                        party_id=party,
                    )
                )
        except IntegrityError:
            # The same id arrived concurrently and was recorded first.
            return EventOutcome(
                position, event.get_id(), "duplicate", "already applied"
            )
        if reason:
            # Nothing the caller wrote: the reason may quote a party id that is
            # someone's name, and an id or type may hold anything. The log has
            # a digest of the id; the caller and the events table have the rest.
            kind = event.get_type()
            logger.info(
                "event with id sha256 %s (%s) rejected",
                hashlib.sha256(event.get_id().encode("utf-8")).hexdigest()[:16],
                kind if kind in EVENT_TYPES else "unknown type",
            )
        return EventOutcome(position, event.get_id(), status, reason, lag)

    def _apply(self, event: CloudEvent) -> str:
        """Apply one event in one transaction; returns the party it concerned."""
        data = event.get_data()
        if not isinstance(data, dict):
            raise EventRejectedError("data must be a JSON object")
        kind = event.get_type()
        party_id = data.get("party_id")
        if not isinstance(party_id, str) or not party_id:
            raise EventRejectedError("data.party_id is required")
        if not self._customers.exists(party_id):
            raise EventRejectedError(f"unknown party {party_id!r}")
        source = event.get_source()
        if kind in (CASE_OPENED, CASE_UPDATED):
            case = CaseIn.model_validate(data.get("case"))
            with self._sessions() as session:
                stored = session.get(CaseRow, case.id)
                if kind == CASE_UPDATED and stored is None:
                    raise EventRejectedError(f"case {case.id!r} does not exist")
                if stored is not None and stored.party_id != party_id:
                    raise EventRejectedError(
                        f"case {case.id!r} belongs to another party"
                    )
            self._customers.upsert_state(party_id, cases=[case])
        elif kind == CONSENT_CHANGED:
            consent = ConsentIn.model_validate(
                {**data.get("consent", {}), "source_system": source}
            )
            self._customers.upsert_state(party_id, consents=[consent])
        elif kind == IDENTIFIER_SEEN:
            identifier = IdentifierIn.model_validate(
                {"source_system": source, **data.get("identifier", {})}
            )
            self._customers.add_identifier(party_id, identifier)
        elif kind == INTERACTION_ENDED:
            self._interaction_ended(party_id, data)
        else:
            raise EventRejectedError(
                f"unknown event type {kind!r}; known types: {', '.join(EVENT_TYPES)}"
            )
        return party_id

    def _interaction_ended(self, party_id: str, data: dict[str, Any]) -> None:
        interaction_id = data.get("interaction_id")
        if not isinstance(interaction_id, str):
            raise EventRejectedError("data.interaction_id is required")
        ended = data.get("ended_at")
        outcome = data.get("outcome")
        with self._sessions.begin() as session:
            row = session.get(InteractionRow, interaction_id)
            if row is None:
                raise EventRejectedError(f"unknown interaction {interaction_id!r}")
            if session.get(PartyRow, party_id) is None:
                raise EventRejectedError(f"unknown party {party_id!r}")
            if ended is not None:
                row.ended_at = _ended_at(ended, row.started_at)
            if isinstance(outcome, str) and outcome:
                row.outcome = self._redact(outcome, ())
            _set_satisfaction(row, data)
            session.merge(
                InteractionLinkRow(
                    interaction_id=interaction_id,
                    party_id=party_id,
                    confidence=1.0,
                    linked_by="event:interaction.ended",
                    linked_at=datetime.now(UTC),
                )
            )


def _ended_at(value: Any, started_at: datetime | None) -> datetime:
    """An end time an event reports: not in the future, not before the start."""
    try:
        ended = utc(datetime.fromisoformat(str(value)))
    except ValueError:
        raise EventRejectedError("data.ended_at is not a timestamp") from None
    try:
        check_not_future(ended, "data.ended_at")
    except ValueError as exc:
        raise EventRejectedError(str(exc)) from None
    if started_at is not None and ended < utc(started_at):
        raise EventRejectedError(
            f"data.ended_at ({ended.isoformat()}) is before the interaction "
            f"started ({utc(started_at).isoformat()})"
        )
    return ended


def _set_satisfaction(row: InteractionRow, data: dict[str, Any]) -> None:
    """A survey score (1 to 5) or sentiment label sent with the contact's end."""
    score = data.get("satisfaction_score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise EventRejectedError("data.satisfaction_score must be a number")
        if not 1 <= score <= 5:
            raise EventRejectedError(
                f"data.satisfaction_score must be between 1 and 5, got {score}"
            )
        row.satisfaction_score = float(score)
    sentiment = data.get("sentiment")
    if sentiment is not None:
        allowed = [s.value for s in Sentiment]
        if sentiment not in allowed:
            raise EventRejectedError(
                f"data.sentiment must be one of {', '.join(allowed)}, got {sentiment!r}"
            )
        row.sentiment = sentiment
