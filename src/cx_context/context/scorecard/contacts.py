"""Measures of single contacts and events: data latency, identity, satisfaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cx_context.context.identity.resolver import DEFAULT_ACCEPT_THRESHOLD
from cx_context.context.scorecard.data import Contact, EventFact
from cx_context.context.scorecard.measures import Measure, percentile, share


@dataclass(frozen=True)
class ScorecardConfig:
    recontact_window: timedelta = timedelta(days=7)
    latency_bound: timedelta = timedelta(minutes=5)
    accept_threshold: float = DEFAULT_ACCEPT_THRESHOLD
    min_records: int = 1


def data_latency(
    events: Sequence[EventFact], config: ScorecardConfig, by_customers: bool
) -> Measure:
    """Event lags; `by_customers` when a channel or intent filter chose the events."""
    bound = config.latency_bound.total_seconds()
    scoped = " of the customers with contacts in scope" if by_customers else ""
    m = Measure(
        "data_latency",
        "Data latency",
        "share",
        f"Share of events{scoped} that arrived more than {bound:g} s after their "
        "event time (lag = arrival minus event time), over events of the "
        "period by event time; median and p90 lag beside it. Out of order: "
        "events whose time is earlier than that of an event of the same "
        "customer that arrived before them.",
    )
    lags = []
    for event in events:
        if event.lag_seconds is None:
            m.exclude("events without a time")
        elif event.lag_seconds < 0:
            m.exclude("event time after arrival")
        else:
            lags.append(event.lag_seconds)
    late = sum(1 for lag in lags if lag > bound)
    m.set(
        share(late, len(lags)),
        len(lags),
        config.min_records,
        "no event in scope",
    )
    p50, p90 = percentile(lags, 0.5), percentile(lags, 0.9)
    m.details = {
        "bound_seconds": bound,
        "late": late,
        "median_lag_seconds": round(p50, 3) if p50 is not None else None,
        "p90_lag_seconds": round(p90, 3) if p90 is not None else None,
        "max_lag_seconds": round(max(lags), 3) if lags else None,
        "out_of_order": out_of_order(events),
    }
    return m


def identity_confidence(
    contacts: Sequence[Contact], config: ScorecardConfig
) -> Measure:
    threshold = config.accept_threshold
    m = Measure(
        "identity_match_confidence",
        "Contacts with no confident identity match",
        "share",
        "Share of contacts not linked to a customer, or linked with a "
        f"resolution confidence under {threshold:g} (the acceptance threshold); "
        "the distribution of link confidences beside it.",
    )
    bins = {
        "unlinked": 0,
        "under 0.5": 0,
        "0.5 to 0.9": 0,
        f"0.9 to {threshold:g}": 0,
        f"{threshold:g} or more": 0,
    }
    confidences = []
    for contact in contacts:
        value = contact.confidence
        if value is None or contact.party_id is None:
            bins["unlinked"] += 1
            continue
        confidences.append(value)
        if value < 0.5:
            bins["under 0.5"] += 1
        elif value < 0.9:
            bins["0.5 to 0.9"] += 1
        elif value < threshold:
            bins[f"0.9 to {threshold:g}"] += 1
        else:
            bins[f"{threshold:g} or more"] += 1
    unconfident = len(contacts) - bins[f"{threshold:g} or more"]
    m.set(
        share(unconfident, len(contacts)),
        len(contacts),
        config.min_records,
        "no contact in scope",
    )
    median = percentile(confidences, 0.5)
    m.details = {
        "distribution": bins,
        "no_confident_match": unconfident,
        "median_confidence": round(median, 4) if median is not None else None,
    }
    return m


def satisfaction(contacts: Sequence[Contact], config: ScorecardConfig) -> list[Measure]:
    score = Measure(
        "satisfaction_score",
        "Customer satisfaction (survey)",
        "score",
        "Mean survey score (1 to 5) of contacts in scope that carry one; the "
        "share scoring 4 or 5 beside it.",
    )
    scores = [
        c.satisfaction_score for c in contacts if c.satisfaction_score is not None
    ]
    score.exclude("contacts without a survey score", len(contacts) - len(scores))
    score.set(
        sum(scores) / len(scores) if scores else None,
        len(scores),
        config.min_records,
        "no contact in scope carries a survey score",
    )
    score.details = {
        "satisfied_share": round(s, 4)
        if (s := share(sum(1 for v in scores if v >= 4), len(scores))) is not None
        else None
    }
    sentiment = Measure(
        "positive_sentiment",
        "Customer sentiment",
        "share",
        "Share of contacts labelled positive, over contacts in scope that carry "
        "a sentiment label (positive, neutral, negative).",
    )
    labels = [c.sentiment for c in contacts if c.sentiment]
    sentiment.exclude("contacts without a sentiment label", len(contacts) - len(labels))
    sentiment.set(
        share(labels.count("positive"), len(labels)),
        len(labels),
        config.min_records,
        "no contact in scope carries a sentiment label",
    )
    sentiment.details = {
        name: labels.count(name) for name in ("positive", "neutral", "negative")
    }
    return [score, sentiment]


def out_of_order(events: Sequence[EventFact]) -> int:
    latest: dict[str, datetime] = {}
    count = 0
    for event in sorted(events, key=lambda e: (e.received_at, e.id)):
        if event.event_time is None or event.party_id is None:
            continue
        seen = latest.get(event.party_id)
        if seen is not None and event.event_time < seen:
            count += 1
        else:
            latest[event.party_id] = event.event_time
    return count
