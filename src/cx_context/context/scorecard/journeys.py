"""Journeys: a customer's contacts about one intent, and whether they got resolved.

Contacts of one customer about one intent form one journey, in time order.
A contact starts a new journey when the journey before it was resolved and it
comes later than the recontact window after that resolution. A journey's state
is decided by its last contact that records an outcome: resolved when that
outcome is a resolving one (`resolved`, `completed`, ...), unresolved
otherwise. When none of its contacts records an outcome, the customer's case
for that intent decides (resolved or closed: resolved; open or pending:
unresolved); with neither, the state is unknown.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cx_context.context.scorecard.data import CaseFact, Contact

RESOLVED_OUTCOMES = frozenset({"resolved", "completed", "solved", "success", "done"})
RESOLVED_CASES = frozenset({"resolved", "closed"})


def is_resolving(outcome: str | None) -> bool:
    return (outcome or "").strip().lower() in RESOLVED_OUTCOMES


@dataclass
class Journey:
    party_id: str
    intent: str
    contacts: list[Contact] = field(default_factory=list)
    state: str = "unknown"  # resolved, unresolved, unknown
    resolved_at: datetime | None = None
    decided_by: str = "nothing"  # contact outcome, case, nothing

    @property
    def first(self) -> Contact:
        return self.contacts[0]

    @property
    def started_at(self) -> datetime | None:
        return self.first.started_at

    def decide(self, cases: Sequence[CaseFact]) -> None:
        with_outcome = [c for c in self.contacts if c.outcome]
        if with_outcome:
            last = with_outcome[-1]
            self.decided_by = "contact outcome"
            if is_resolving(last.outcome):
                self.state, self.resolved_at = "resolved", last.ends
            else:
                self.state = "unresolved"
            return
        if cases:
            case = max(cases, key=lambda c: c.opened_at)
            self.decided_by = "case"
            if case.status in RESOLVED_CASES:
                self.state, self.resolved_at = "resolved", case.closed_at
            else:
                self.state = "unresolved"


def build_journeys(
    contacts: Sequence[Contact], cases: Sequence[CaseFact], window: timedelta
) -> tuple[list[Journey], dict[str, int]]:
    """Journeys of linked contacts with an intent; the rest counted by reason."""
    skipped = {"no linked customer": 0, "no intent": 0}
    grouped: dict[tuple[str, str], list[Contact]] = defaultdict(list)
    for contact in contacts:
        if contact.party_id is None:
            skipped["no linked customer"] += 1
        elif not contact.intent:
            skipped["no intent"] += 1
        else:
            grouped[(contact.party_id, contact.intent)].append(contact)
    cases_of: dict[tuple[str, str], list[CaseFact]] = defaultdict(list)
    for case in cases:
        if case.intent:
            cases_of[(case.party_id, case.intent)].append(case)
    journeys: list[Journey] = []
    far = datetime.max.replace(tzinfo=None)
    for (party, intent), members in grouped.items():
        members.sort(
            key=lambda c: (
                c.started_at.replace(tzinfo=None) if c.started_at else far,
                c.id,
            )
        )
        current = Journey(party, intent)
        for contact in members:
            done = current.contacts and is_resolving(current.contacts[-1].outcome)
            last_end = current.contacts[-1].ends if current.contacts else None
            if (
                done
                and last_end is not None
                and contact.started_at is not None
                and contact.started_at > last_end + window
            ):
                journeys.append(current)
                current = Journey(party, intent)
            current.contacts.append(contact)
        journeys.append(current)
    for journey in journeys:
        # A case decides only a journey none of whose contacts says how it ended.
        journey.decide(cases_of.get((journey.party_id, journey.intent), []))
    return journeys, skipped
