"""The continuity scorecard: seven measures per journey (intent), channel and period."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cx_context.context.scorecard.contacts import (
    ScorecardConfig,
    data_latency,
    identity_confidence,
    satisfaction,
)
from cx_context.context.scorecard.data import Contact, Estate, EventFact
from cx_context.context.scorecard.journeys import Journey, build_journeys, is_resolving
from cx_context.context.scorecard.measures import (
    Measure,
    Period,
    ScorecardQueryError,
    bucket_label,
    parse_period,
    percentile,
    share,
)
from cx_context.context.scorecard.transfers import HandoffCheck, check_handoffs

BUCKETS = ("week", "month")
MAX_TREND_POINTS = 104


@dataclass(frozen=True)
class ScorecardQuery:
    period: Period | None = None
    channel: str | None = None
    intent: str | None = None
    bucket: str = "month"

    @classmethod
    def parse(
        cls,
        period: str | None = None,
        channel: str | None = None,
        intent: str | None = None,
        bucket: str = "month",
    ) -> "ScorecardQuery":
        if bucket not in BUCKETS:
            raise ScorecardQueryError(
                "bucket", f"must be one of {', '.join(BUCKETS)}, got {bucket!r}"
            )
        return cls(
            parse_period(period) if period else None,
            channel.strip() if channel else None,
            intent.strip() if intent else None,
            bucket,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.label if self.period else None,
            "channel": self.channel,
            "intent": self.intent,
            "bucket": self.bucket,
        }


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


@dataclass
class _Scope:
    """The contacts, journeys, handoffs and events one set of filters selects."""

    contacts: list[Contact]
    journeys: list[Journey]
    handoffs: list[HandoffCheck]
    events: list[EventFact]
    skipped: dict[str, int] = field(default_factory=dict)


class Scorecard:
    """Computes the scorecard of an estate for any filters; see `compute`."""

    def __init__(
        self, estate: Estate, config: ScorecardConfig, now: datetime | None = None
    ) -> None:
        self._estate = estate
        self._config = config
        self._now = now or datetime.now(UTC)
        self._journeys, self._journey_skips = build_journeys(
            estate.contacts, estate.cases, config.recontact_window
        )
        by_party: dict[str, list[Contact]] = defaultdict(list)
        for contact in estate.contacts:
            by_party[contact.party_id or f"unlinked:{contact.id}"].append(contact)
        self._by_party = by_party
        self._handoffs = [
            h for group in by_party.values() for h in check_handoffs(group)
        ]
        self._contact = {c.id: c for c in estate.contacts}

    # Selecting -------------------------------------------------------------

    def _selects(self, contact: Contact, query: ScorecardQuery) -> bool:
        if query.channel and contact.channel != query.channel:
            return False
        if query.intent and contact.intent != query.intent:
            return False
        return query.period is None or query.period.holds(contact.started_at)

    def _scope(self, query: ScorecardQuery) -> _Scope:
        contacts = [c for c in self._estate.contacts if self._selects(c, query)]
        chosen = {c.id for c in contacts}
        journeys = [j for j in self._journeys if j.first.id in chosen]
        handoffs = [h for h in self._handoffs if h.from_contact in chosen]
        events = self._events(query, {c.party_id for c in contacts if c.party_id})
        skipped = {}
        if query.period is not None:
            undated = sum(
                1
                for c in self._estate.contacts
                if c.started_at is None
                and self._selects(c, replace(query, period=None))
            )
            if undated:
                skipped["contacts without a start time"] = undated
        return _Scope(contacts, journeys, handoffs, events, skipped)

    def _events(self, query: ScorecardQuery, parties: set[str]) -> list[EventFact]:
        chosen = []
        for event in self._estate.events:
            moment = event.event_time or event.received_at
            if query.period is not None and not query.period.holds(moment):
                continue
            if (query.channel or query.intent) and event.party_id not in parties:
                continue
            chosen.append(event)
        return chosen

    # The measures ------------------------------------------------------------

    def _completion(self, scope: _Scope) -> Measure:
        m = Measure(
            "journey_completion",
            "Journey completion",
            "share",
            "Share of journeys (one customer's contacts about one intent, in time "
            "order) that reached a resolved state, over journeys whose state is "
            "known. The last contact that records an outcome decides (resolved, "
            "completed, solved, success, done count as resolved); without one, the "
            "customer's case for that intent; a journey belongs to the period, "
            "channel and intent of its first contact.",
        )
        known = [j for j in scope.journeys if j.state != "unknown"]
        m.exclude("no outcome and no case", len(scope.journeys) - len(known))
        self._journey_exclusions(m, scope)
        resolved = sum(1 for j in known if j.state == "resolved")
        m.set(
            share(resolved, len(known)),
            len(known),
            self._config.min_records,
            "no journey in scope has an outcome or a case",
        )
        m.details = {
            "resolved": resolved,
            "unresolved": len(known) - resolved,
            "journeys": len(scope.journeys),
        }
        return m

    def _journey_exclusions(self, m: Measure, scope: _Scope) -> None:
        for contact in scope.contacts:
            if contact.party_id is None:
                m.exclude("contacts with no linked customer")
            elif not contact.intent:
                m.exclude("contacts with no intent")

    def _recontact(self, scope: _Scope) -> Measure:
        window = self._config.recontact_window
        m = Measure(
            "avoidable_recontact",
            "Avoidable recontact",
            "share",
            "Share of contacts marked resolved after which the same customer made "
            f"another contact about the same intent within {_hours(window):g} h "
            "of the resolved contact's end (any channel). Contacts whose window has "
            "not yet passed are left out unless the recontact already happened.",
        )
        resolved = [c for c in scope.contacts if is_resolving(c.outcome)]
        followed = 0
        counted = 0
        for contact in resolved:
            if contact.party_id is None or not contact.intent:
                m.exclude("resolved contacts with no customer or intent")
                continue
            end = contact.ends
            if end is None:
                m.exclude("resolved contacts without a time")
                continue
            again = any(
                other.id != contact.id
                and other.intent == contact.intent
                and other.started_at is not None
                and end < other.started_at <= end + window
                for other in self._by_party[contact.party_id]
            )
            if not again and self._now < end + window:
                m.exclude("window not yet over")
                continue
            counted += 1
            followed += again
        m.exclude(
            "contacts without a resolving outcome", len(scope.contacts) - len(resolved)
        )
        m.set(
            share(followed, counted),
            counted,
            self._config.min_records,
            "no contact in scope is marked resolved",
        )
        m.details = {"recontacted": followed, "window_hours": _hours(window)}
        return m

    def _time_to_resolution(self, scope: _Scope) -> Measure:
        m = Measure(
            "time_to_resolution",
            "Time to resolution",
            "hours",
            "Median hours from a resolved journey's first contact to its resolution "
            "(the end of the contact that resolved it, or the case's closing time); "
            "p90 beside it. Percentiles interpolate between the closest ranks.",
        )
        hours = []
        for journey in scope.journeys:
            if journey.state != "resolved":
                continue
            start = journey.started_at
            if start is None or journey.resolved_at is None:
                m.exclude("resolved journeys without times")
                continue
            if journey.resolved_at < start:
                m.exclude("resolved before the first contact")
                continue
            hours.append(_hours(journey.resolved_at - start))
        m.exclude(
            "journeys not resolved",
            sum(1 for j in scope.journeys if j.state != "resolved"),
        )
        m.set(
            percentile(hours, 0.5),
            len(hours),
            self._config.min_records,
            "no resolved journey in scope",
        )
        p90 = percentile(hours, 0.9)
        m.details = {
            "median_hours": m.value,
            "p90_hours": round(p90, 4)
            if p90 is not None and m.value is not None
            else None,
        }
        return m

    def _transfers(self, scope: _Scope) -> Measure:
        m = Measure(
            "transfer_failure",
            "Transfer failure",
            "share",
            "Share of handoffs (bot to agent, agent to agent, a linked transfer, or "
            "a switch of channel within 24 h) after which the customer repeated "
            "identification (asked again or gave an identifier again) or the story "
            "(a customer turn similar to one before the handoff), or that dropped "
            "(no handler took over and no later contact continued it). Counted "
            "from the contact the handoff left.",
        )
        handoffs = scope.handoffs
        failed = sum(1 for h in handoffs if h.failed)
        m.set(
            share(failed, len(handoffs)),
            len(handoffs),
            self._config.min_records,
            "no handoff found in the contacts in scope",
        )
        kinds: dict[str, int] = defaultdict(int)
        for h in handoffs:
            kinds[h.kind] += 1
        m.details = {
            "handoffs": len(handoffs),
            "failed": failed,
            "repeated_identification": sum(h.repeated_identification for h in handoffs),
            "repeated_story": sum(h.repeated_story for h in handoffs),
            "dropped": sum(h.dropped for h in handoffs),
            "by_kind": dict(sorted(kinds.items())),
        }
        return m

    def measures(self, query: ScorecardQuery) -> list[Measure]:
        scope = self._scope(query)
        result = [
            self._completion(scope),
            self._recontact(scope),
            self._time_to_resolution(scope),
            self._transfers(scope),
            data_latency(
                scope.events, self._config, bool(query.channel or query.intent)
            ),
            identity_confidence(scope.contacts, self._config),
            *satisfaction(scope.contacts, self._config),
        ]
        for measure in result:
            for reason, count in scope.skipped.items():
                measure.exclude(reason, count)
            measure.excluded = {k: v for k, v in measure.excluded.items() if v}
        return result

    # The whole card -----------------------------------------------------------

    def compute(self, query: ScorecardQuery) -> dict[str, Any]:
        scope = self._scope(query)
        notes = []
        if query.intent and not any(
            c.intent == query.intent for c in self._estate.contacts
        ):
            notes.append(f"no contact has intent {query.intent!r}")
        if query.channel and not any(
            c.channel == query.channel for c in self._estate.contacts
        ):
            notes.append(f"no contact came through channel {query.channel!r}")
        if query.period and not scope.contacts:
            notes.append(f"no contact started in period {query.period.label}")
        return {
            "filters": query.as_dict(),
            "generated_at": self._now.isoformat(),
            "settings": {
                "recontact_window_hours": _hours(self._config.recontact_window),
                "latency_bound_seconds": self._config.latency_bound.total_seconds(),
                "accept_threshold": self._config.accept_threshold,
                "min_records": self._config.min_records,
            },
            "counts": {
                "contacts": len(scope.contacts),
                "journeys": len(scope.journeys),
                "handoffs": len(scope.handoffs),
                "events": len(scope.events),
            },
            "notes": notes,
            "measures": [m.as_dict() for m in self.measures(query)],
            "by_intent": self._groups(scope, query, lambda c: c.intent, "intent"),
            "by_channel": self._groups(scope, query, lambda c: c.channel, "channel"),
            "trend": self._trend(scope, query),
        }

    def _headline(self, query: ScorecardQuery) -> dict[str, Any]:
        return {m.key: {"value": m.value, "n": m.n} for m in self.measures(query)}

    def _groups(
        self,
        scope: _Scope,
        query: ScorecardQuery,
        key: Callable[[Contact], str | None],
        name: str,
    ) -> dict[str, Any]:
        values = sorted({v for c in scope.contacts if (v := key(c))})
        return {
            v: self._headline(
                replace(query, intent=v)
                if name == "intent"
                else replace(query, channel=v)
            )
            for v in values
        }

    def _trend(self, scope: _Scope, query: ScorecardQuery) -> dict[str, Any]:
        labels = sorted(
            {
                bucket_label(c.started_at, query.bucket)
                for c in scope.contacts
                if c.started_at
            }
        )
        labels = labels[-MAX_TREND_POINTS:]
        points = []
        for label in _fill(labels, query.bucket):
            period = parse_period(label)
            if query.period is not None:
                period = Period(
                    label,
                    max(period.start, query.period.start),
                    min(period.end, query.period.end),
                )
            points.append(
                {
                    "period": label,
                    "values": self._headline(replace(query, period=period)),
                }
            )
        return {"bucket": query.bucket, "points": points}


def _fill(labels: Sequence[str], bucket: str) -> list[str]:
    """Every bucket from the first label to the last, so gaps show as gaps."""
    if not labels:
        return []
    filled: list[str] = []
    moment = parse_period(labels[0]).start
    last = parse_period(labels[-1]).start
    while moment <= last and len(filled) < MAX_TREND_POINTS:
        filled.append(bucket_label(moment, bucket))
        moment = parse_period(filled[-1]).end
    return filled
