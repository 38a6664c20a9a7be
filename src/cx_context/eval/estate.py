"""A realistic estate for the scorecard, built from public conversations.

Customers are EVI profiles (name, postcode, date of birth, email). Each gets
one to three journeys, spread over the six months before a fixed anchor day
with a fixed seed, drawn from real conversations:

- banking: an SGD bot conversation (its intent and the outcome of its last
  transaction), followed, when it failed and half the time otherwise, by a voice
  call: one of the customer's own EVI identification calls, which the real
  resolver matches to a customer from what was said (or does not);
- support: a TweetSumm social-media exchange (no intent in the source),
  sometimes continued in an ABCD chat through a linked transfer;
- orders: an ABCD chat on its own.

Everything goes through the real pipeline: interactions are redacted,
chunked, embedded and stored; typed contacts are linked by the customer's
email, voice calls by identity resolution; events go through the event
applier. What the sources do not record is synthetic and seeded: the dates,
the outcomes of voice, chat and ABCD contacts (SGD's own are kept), survey
scores for about half of the contacts with an outcome, the bot's prompts in
the voice calls (the callers' words are EVI's real transcripts), and the lag
of the events (sent now, dated a few seconds to hours earlier, some out of
order). TweetSumm contacts keep no intent and no outcome, as in the source,
so the scorecard shows what it leaves out.
"""

import csv
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cx_context.context.identity.model import Claims
from cx_context.eval.identity import Call, load_calls
from cx_context.knowledge.adapters import read_interactions
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.records import Interaction
from cx_context.service.wiring import Services

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

ANCHOR = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
SOURCES = {
    "evi": "evi-identity",
    "sgd": "sgd-banking-payment/dialogues_banks_payment_dev_test.jsonl",
    "tweetsumm": "tweetsumm/tweetsumm_dev600.jsonl",
    "abcd": "abcd/abcd_dialogstudio_5examples.json",
}
_ASK = {
    "postcode": "Can I have your postcode, please?",
    "name": "And your full name?",
    "dob": "What is your date of birth?",
}
_AGAIN = "Sorry, I did not catch that. Could you say it again?"
_WITHHELD = "(answer used for identification, not stored)"


@dataclass
class _Pool:
    """Conversations of one source, handed out in a seeded order, reused if need be."""

    records: list[Interaction]
    rng: random.Random
    _order: list[int] = field(default_factory=list)

    def take(self) -> Interaction:
        if not self._order:
            self._order = list(range(len(self.records)))
            self.rng.shuffle(self._order)
        return self.records[self._order.pop()]


@dataclass
class Plan:
    """What the builder will store: customers, contacts, voice claims, events."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[Interaction] = field(default_factory=list)
    calls: dict[str, Claims] = field(default_factory=dict)
    journeys: int = 0


@dataclass(frozen=True)
class EstateBuilder:
    data: Path  # the shared data folder
    customers: int = 40
    seed: int = 11
    anchor: datetime = ANCHOR
    days: int = 182

    def check(self) -> None:
        """Every source file is there, or a clear error naming the missing one."""
        for relative in SOURCES.values():
            if not (self.data / relative).exists():
                raise FileNotFoundError(
                    f"{self.data / relative}: not found (pass DATA)"
                )

    def build(self, services: Services, progress: Progress) -> dict[str, Any]:
        """Store the estate in the services' data directory; returns what was stored."""
        self.check()
        started = time.perf_counter()
        progress("reading EVI, SGD, TweetSumm and ABCD ...")
        plan = self.plan()
        report = services.customers.upsert_many(plan.customers)
        if report.problems:
            raise RuntimeError(f"estate customers rejected: {report.problems[:3]}")
        progress(
            f"ingesting {len(plan.contacts)} contacts of {len(plan.customers)} "
            "customers (redaction, chunking, embedding) ..."
        )
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if done % 25 < n or done == len(plan.contacts):
                progress(f"  {done} of {len(plan.contacts)} contacts")

        parsed = [Parsed(i, c) for i, c in enumerate(plan.contacts, 1)]
        ingest = services.ingestor.ingest_interactions(parsed, "estate", advance)
        typed = [c for c in plan.contacts if c.id not in plan.calls]
        links = services.link_interactions(typed)
        progress(f"resolving {len(plan.calls)} voice callers from what they said ...")
        accepted = 0
        for interaction_id, claims in plan.calls.items():
            accepted += services.resolve_identity(claims, interaction_id).accepted
        events_rng = random.Random(self.seed + 1)  # noqa: S311 (test data)
        outcomes = services.events.apply_many(self._events(events_rng, plan))
        counts: dict[str, int] = defaultdict(int)
        for contact in plan.contacts:
            counts[contact.channel.value] += 1
        return {
            "customers": len(plan.customers),
            "journeys": plan.journeys,
            "contacts": len(plan.contacts),
            "contacts_by_channel": dict(sorted(counts.items())),
            "ingest": ingest.counts,
            "linked_by_identifier": links["linked"],
            "voice_calls": len(plan.calls),
            "voice_calls_resolved": accepted,
            "events": {
                status: sum(1 for o in outcomes if o.status == status)
                for status in ("applied", "duplicate", "rejected")
            },
            "seed": self.seed,
            "anchor": self.anchor.isoformat(),
            "runtime_s": round(time.perf_counter() - started, 1),
        }

    # Planning ----------------------------------------------------------------

    def _sources(self, rng: random.Random) -> dict[str, _Pool]:
        def records(name: str) -> list[Interaction]:
            path = self.data / SOURCES[name]
            return [p.record for p in read_interactions(path) if p.record is not None]

        sgd = records("sgd")
        return {
            "sgd": _Pool(sgd, random.Random(rng.random())),  # noqa: S311
            "tweetsumm": _Pool(records("tweetsumm"), random.Random(rng.random())),  # noqa: S311
            "abcd": _Pool(records("abcd"), random.Random(rng.random())),  # noqa: S311
        }

    def _profiles(
        self, rng: random.Random
    ) -> Iterator[tuple[dict[str, str], list[Call]]]:
        folder = self.data / SOURCES["evi"]
        calls: dict[str, list[Call]] = defaultdict(list)
        for call in load_calls(folder):
            calls[call.party_id].append(call)
        with (folder / "records.en.csv").open(encoding="utf-8", newline="") as handle:
            rows = {row["scenario_id"]: row for row in csv.DictReader(handle)}
        chosen = sorted(set(calls) & set(rows))
        rng.shuffle(chosen)
        for scenario in chosen[: self.customers]:
            yield rows[scenario], calls[scenario]

    def plan(self) -> Plan:
        """The customers and contacts to store; the same for the same seed."""
        rng = random.Random(self.seed)  # noqa: S311 (test data, not secrets)
        pools = self._sources(rng)
        plan = Plan()
        for row, calls in self._profiles(rng):
            party = f"estate-{row['scenario_id'].replace('.', '-').lower()}"
            plan.customers.append(
                {
                    "id": party,
                    "source_system": "evi",
                    "name": row["name"],
                    "postcode": row["postcode"],
                    "date_of_birth": date.fromisoformat(row["dob"]),
                    "identifiers": [{"kind": "email", "value": row["email"]}],
                }
            )
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                start = self.anchor - timedelta(
                    days=rng.uniform(1, self.days), hours=rng.uniform(0, 10)
                )
                kind = rng.choices(("banking", "support", "orders"), (45, 35, 20))[0]
                self._journey(kind, rng, pools, plan, party, row, calls, start)
                plan.journeys += 1
        return plan

    def _contact(
        self,
        plan: Plan,
        source: Interaction,
        party: str,
        email: str | None,
        start: datetime,
        rng: random.Random,
        **update: Any,
    ) -> Interaction:
        minutes = max(2.0, len(source.turns) * rng.uniform(0.3, 1.2))
        identifiers = list(source.customer_identifiers)
        if email:
            identifiers.append({"kind": "email", "value": email})  # type: ignore[arg-type]
        outcome = update.pop("outcome", source.outcome)
        score = None
        if outcome and rng.random() < 0.5:
            good = outcome in ("resolved", "completed")
            score = rng.choice((4, 5, 5, 3) if good else (1, 2, 2, 3))
        record = Interaction.model_validate(
            {
                **source.model_dump(),
                "id": f"{party}-{len(plan.contacts) + 1:03d}-{source.source_system}",
                "started_at": start,
                "ended_at": start + timedelta(minutes=minutes),
                "customer_identifiers": identifiers,
                "outcome": outcome,
                "satisfaction_score": score,
                **update,
            }
        )
        plan.contacts.append(record)
        return record

    def _voice(
        self,
        plan: Plan,
        party: str,
        name: str,
        call: Call,
        start: datetime,
        rng: random.Random,
        **update: Any,
    ) -> Interaction:
        turns: list[dict[str, str]] = []
        for item, attempts in (
            ("postcode", call.claims.postcode),
            ("name", call.claims.name),
            ("dob", call.claims.dob),
        ):
            for number, alternatives in enumerate(attempts):
                turns.append(
                    {"speaker": "bot", "text": _ASK[item] if number == 0 else _AGAIN}
                )
                # Our redactor misses spoken postcodes and dates ("w20 a b",
                # "27th of the 9th 1979"): those answers resolve the caller but
                # are not stored. Names it finds, with the profile's as a cue.
                said = alternatives[0] if item == "name" else _WITHHELD
                turns.append({"speaker": "customer", "text": said or "(silence)"})
        turns.append(
            {
                "speaker": "agent",
                "text": "Thanks, I have your details here. How can I help?",
            }
        )
        source = Interaction.model_validate(
            {
                "id": call.dialogue_id,
                "channel": "voice",
                "source_system": "evi",
                "turns": turns,
                "customer_identifiers": [{"kind": "name", "value": name}],
            }
        )
        outcome = rng.choices(("resolved", "escalated", None), (70, 20, 10))[0]
        record = self._contact(
            plan, source, party, None, start, rng, outcome=outcome, **update
        )
        plan.calls[record.id] = call.claims
        return record

    def _journey(
        self,
        kind: str,
        rng: random.Random,
        pools: dict[str, _Pool],
        plan: Plan,
        party: str,
        row: dict[str, str],
        calls: list[Call],
        start: datetime,
    ) -> None:
        email = row["email"]
        later = start + timedelta(minutes=rng.uniform(10, 240))
        if kind == "banking":
            bot = self._contact(plan, pools["sgd"].take(), party, email, start, rng)
            if calls and (bot.outcome != "completed" or rng.random() < 0.5):
                link = {"transferred_from": bot.id} if rng.random() < 0.5 else {}
                self._voice(
                    plan,
                    party,
                    row["name"],
                    calls.pop(),
                    later,
                    rng,
                    intent=bot.intent,
                    **link,
                )
            if rng.random() < 0.2:
                again = start + timedelta(days=rng.uniform(1, 10))
                self._contact(
                    plan,
                    pools["sgd"].take(),
                    party,
                    email,
                    again,
                    rng,
                    intent=bot.intent,
                )
        elif kind == "support":
            social = self._contact(
                plan, pools["tweetsumm"].take(), party, email, start, rng
            )
            if rng.random() < 0.4:
                self._contact(
                    plan,
                    pools["abcd"].take(),
                    party,
                    email,
                    later,
                    rng,
                    outcome=rng.choice(("resolved", "resolved", "unresolved")),
                    transferred_from=social.id,
                )
        else:
            self._contact(
                plan,
                pools["abcd"].take(),
                party,
                email,
                start,
                rng,
                outcome=rng.choice(("resolved", "resolved", "unresolved", None)),
            )

    def _events(self, rng: random.Random, plan: Plan) -> list[dict[str, Any]]:
        """Consent changes dated seconds to hours before now, some out of order."""
        now = datetime.now(UTC)
        events = []
        for index, customer in enumerate(plan.customers):
            for number in range(rng.choice((1, 2, 3))):
                lag = min(rng.lognormvariate(4.0, 2.0), 6 * 3600)
                events.append(
                    {
                        "id": f"estate-event-{index}-{number}",
                        "source": "crm",
                        "type": "cx.consent.changed",
                        "time": (now - timedelta(seconds=lag)).isoformat(),
                        "data": {
                            "party_id": customer["id"],
                            "consent": {
                                "purpose": "analytics",
                                "status": rng.choice(("granted", "withdrawn")),
                                "decided_at": (
                                    now - timedelta(seconds=lag)
                                ).isoformat(),
                            },
                        },
                    }
                )
        rng.shuffle(events)
        return events


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    (out / "estate.json").write_text(
        json.dumps(summary, indent=2) + "\n", encoding="utf-8"
    )
