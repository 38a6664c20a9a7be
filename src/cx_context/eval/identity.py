"""`cx-context eval identity`: spoken caller identification on EVI (en-GB).

Each labelled EVI call (PolyAI's knowledge-based identification data set) is
a caller saying postcode, full name and date of birth, several attempts each,
with the recogniser's n-best alternatives, to be found among 10,000 profiles.
Calls of scenario "1" match no profile and are skipped.

The calls are split by speaker: a speaker whose SHA-256 hash of the speaker
id starts with an even byte is on the development side, every other speaker
on the reported side, so no voice is on both. The acceptance threshold is the
highest confidence that keeps development top-1 accuracy within
`ACCURACY_SLACK` of its value at the lowest confidence at which at most
`DEV_FALSE_ACCEPT_TARGET` of development callers are accepted as somebody
when their own profile is removed (`choose_threshold`); figures are reported
on the other side only.

Figures, each a share of the reported callers:
- top1_accuracy: accepted, and the accepted profile is their own.
- false_accept_rate: accepted as somebody when their own profile is left out
  of the store (`IdentityResolver.resolve(..., exclude=...)`), the impostor
  case: a caller who is not in the store passing for a customer.
- abstain_rate: not accepted at all (no match, or candidates only) with their
  own profile in the store.
The rest of the callers (1 - top1_accuracy - abstain_rate) were accepted as
the wrong customer with their own profile present.

Our resolver accepts a candidate only when its confidence reaches the
threshold and it is corroborated (by default two of name, postcode and date
of birth agree and none disagrees; `IdentityResolver.uncorroborated`), as the
service does. `ablations` reports it under looser rules too (one disagreeing
fact allowed; no rule at all), each with its own threshold chosen on the
development calls in the same way, to show what the rule costs and saves.

Two plain baselines read only the first attempt's best transcription of
postcode and date of birth, and accept the profile whose postcode and date of
birth both equal what they read, when there is exactly one (so they ignore
names, later attempts, the n-best alternatives and near misses):
`exact-postcode-dob` reads them with the spoken-form readers (the first
reading of `postcode_readings` and `dob_readings`), and
`exact-postcode-dob-written` with the written-form normalizers
(`normalize_postcode`, `normalize_dob`), as a typed-in form would.
"""

import csv
import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cx_context.context.identity.compare import compact_postcode
from cx_context.context.identity.dates import dob_readings
from cx_context.context.identity.model import Candidate, Claims, Profile, Utterance
from cx_context.context.identity.normalize import normalize_dob, normalize_postcode
from cx_context.context.identity.resolver import IdentityResolver, ResolverConfig
from cx_context.context.identity.spoken import postcode_readings

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path("../shared/data/evi-identity")
DATASET = "evi-en-gb"
UNLABELLED_SCENARIO = "1"
DEV_FALSE_ACCEPT_TARGET = 0.005
ACCURACY_SLACK = 0.005
BASELINE = "exact-postcode-dob"
WRITTEN_BASELINE = "exact-postcode-dob-written"
Progress = Callable[[int, int], None]
Facts = tuple[int, int]
"""How many of name, postcode and date of birth agree, and disagree, with a
candidate."""
Rule = tuple[int, int] | None
"""Least agreeing and most disagreeing facts for a match; None: no rule."""
SERVICE_RULE: Rule = (
    ResolverConfig().min_agreeing_facts,
    ResolverConfig().max_disagreeing_facts,
)
ABLATIONS: dict[str, Rule] = {
    "one-disagreement-allowed": (2, 1),
    "without-corroboration": None,
}


@dataclass(frozen=True)
class Call:
    """One labelled EVI call: who it truly is and what the caller said."""

    dialogue_id: str
    speaker_id: str
    party_id: str
    claims: Claims

    @property
    def development(self) -> bool:
        return hashlib.sha256(self.speaker_id.encode()).digest()[0] % 2 == 0


@dataclass(frozen=True)
class Outcome:
    """What a system did with one call, with and without the caller's profile.

    `accepted` is the top candidate, and `facts` how many facts agree and
    disagree with it (a baseline's candidate agrees on all it compared).
    """

    accepted: str | None
    confidence: float
    impostor_accepted: str | None
    impostor_confidence: float
    facts: Facts = (3, 0)
    impostor_facts: Facts = (3, 0)


def load_profiles(data: Path) -> list[Profile]:
    """The 10,000 EVI profiles as resolver profiles (email as an identifier)."""
    with (data / "records.en.csv").open(newline="", encoding="utf-8") as handle:
        return [
            Profile(
                party_id=row["scenario_id"],
                name=row["name"],
                postcode=row["postcode"],
                dob=dt.date.fromisoformat(row["dob"]),
                identifiers={"email": (row["email"],)} if row["email"] else {},
            )
            for row in csv.DictReader(handle)
        ]


def load_calls(data: Path, limit: int | None = None) -> list[Call]:
    """Labelled calls in dialogue-id order, their attempts in the order said."""
    turns: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    with (data / "dialogues.en.tsv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["scenario_id"] != UNLABELLED_SCENARIO:
                turns[row["dialogue_id"]].append(row)
    calls = []
    for dialogue_id in sorted(turns):
        rows = sorted(turns[dialogue_id], key=lambda r: int(r["turn_num"]))
        said: defaultdict[str, list[Utterance]] = defaultdict(list)
        for row in rows:
            alternatives = tuple(json.loads(row["nbest"] or "[]")) or (
                row["transcription"],
            )
            if any(a.strip() for a in alternatives):
                said[row["item"]].append(alternatives)
        calls.append(
            Call(
                dialogue_id=dialogue_id,
                speaker_id=rows[0]["speaker_id"],
                party_id=rows[0]["scenario_id"],
                claims=Claims(
                    name=tuple(said["name"]),
                    postcode=tuple(said["postcode"]),
                    dob=tuple(said["dob"]),
                ),
            )
        )
    return calls[:limit] if limit is not None else calls


class ExactBaseline:
    """Exact postcode and date of birth from the first attempt's best reading.

    `spoken=True` reads them with the spoken-form readers (their first
    reading); `spoken=False` with the written-form normalizers only.
    """

    def __init__(self, profiles: Sequence[Profile], spoken: bool) -> None:
        self._spoken = spoken
        self._by_key: defaultdict[tuple[str, dt.date], list[str]] = defaultdict(list)
        for profile in profiles:
            if profile.postcode and profile.dob:
                key = (compact_postcode(profile.postcode), profile.dob)
                self._by_key[key].append(profile.party_id)

    def _read(self, call: Call) -> tuple[str, dt.date] | None:
        try:
            postcode_text = call.claims.postcode[0][0]
            dob_text = call.claims.dob[0][0]
            if not self._spoken:
                postcode = compact_postcode(normalize_postcode(postcode_text))
                return postcode, normalize_dob(dob_text)
            postcode = postcode_readings(postcode_text)[0]
            date = dob_readings(dob_text)[0]
            if date.day is None or date.month is None or date.year is None:
                return None
            return postcode, dt.date(date.year, date.month, date.day)
        except (IndexError, ValueError):
            return None

    def outcome(self, call: Call) -> Outcome:
        key = self._read(call)
        found = self._by_key.get(key, []) if key else []
        others = [pid for pid in found if pid != call.party_id]
        accepted = found[0] if len(found) == 1 else None
        impostor = others[0] if len(others) == 1 else None
        return Outcome(accepted, float(bool(accepted)), impostor, float(bool(impostor)))


def resolve_call(resolver: IdentityResolver, call: Call) -> Outcome:
    """Our resolver on one call: top candidate and confidence, then as impostor.

    `accepted` is the top candidate whatever its confidence; the threshold is
    applied afterwards, so that one pass serves every threshold tried.
    """
    present = resolver.resolve(call.claims)
    absent = resolver.resolve(call.claims, exclude={call.party_id})
    top = present.candidates[0] if present.candidates else None
    impostor = absent.candidates[0] if absent.candidates else None
    return Outcome(
        top.party_id if top else None,
        present.confidence,
        impostor.party_id if impostor else None,
        absent.confidence,
        _facts(top),
        _facts(impostor),
    )


def _facts(candidate: Candidate | None) -> Facts:
    if candidate is None:
        return (0, 0)
    return len(candidate.agreeing), len(candidate.disagreeing)


def _passes(facts: Facts, rule: Rule) -> bool:
    return rule is None or (facts[0] >= rule[0] and facts[1] <= rule[1])


def _accepts(outcome: Outcome, threshold: float, rule: Rule) -> bool:
    return (
        outcome.accepted is not None
        and outcome.confidence >= threshold
        and _passes(outcome.facts, rule)
    )


def _impostor_accepted(outcome: Outcome, threshold: float, rule: Rule) -> bool:
    return (
        outcome.impostor_accepted is not None
        and outcome.impostor_confidence >= threshold
        and _passes(outcome.impostor_facts, rule)
    )


def figures(
    calls: Sequence[Call],
    outcomes: Sequence[Outcome],
    threshold: float,
    rule: Rule = SERVICE_RULE,
) -> dict[str, float]:
    """top1_accuracy, false_accept_rate and abstain_rate at `threshold`.

    A top candidate that fails the corroboration `rule` is never accepted.
    """
    n = max(len(calls), 1)
    right = accepted_any = impostors = 0
    for call, outcome in zip(calls, outcomes, strict=True):
        if _accepts(outcome, threshold, rule):
            accepted_any += 1
            right += outcome.accepted == call.party_id
        impostors += _impostor_accepted(outcome, threshold, rule)
    return {
        "top1_accuracy": round(right / n, 4),
        "false_accept_rate": round(impostors / n, 4),
        "abstain_rate": round(1 - accepted_any / n, 4),
    }


def choose_threshold(
    calls: Sequence[Call],
    outcomes: Sequence[Outcome],
    target: float,
    rule: Rule = SERVICE_RULE,
) -> float:
    """The acceptance threshold, from development calls only (see the module).

    First the lowest threshold whose false-accept rate is at most `target`;
    then, because a false accept costs far more than an abstention and top-1
    accuracy is nearly flat above it, the highest threshold that keeps top-1
    accuracy within `ACCURACY_SLACK` of that first one's.
    """
    impostors = sorted(
        (o.impostor_confidence for o in outcomes if _impostor_accepted(o, 0.0, rule)),
        reverse=True,
    )
    allowed = int(target * len(calls))
    # Accepting at t lets in every impostor with confidence >= t, so the
    # lowest t sits just above the (allowed + 1)-th most confident impostor.
    lowest = 0.5
    if len(impostors) > allowed:
        lowest = min(1.0, max(0.5, impostors[allowed] + 1e-6))

    def at(threshold: float) -> dict[str, float]:
        return figures(calls, outcomes, threshold, rule)

    floor = at(lowest)["top1_accuracy"] - ACCURACY_SLACK
    chosen = lowest
    for call, outcome in zip(calls, outcomes, strict=True):
        tried = outcome.confidence
        if outcome.accepted != call.party_id or tried <= chosen:
            continue
        if at(tried)["top1_accuracy"] >= floor:
            chosen = tried
    rounded = math.floor(chosen * 1000) / 1000
    if at(rounded)["false_accept_rate"] <= target:
        return max(rounded, 0.5)
    return round(chosen, 6)


def _ablation(
    dev: Sequence[Call],
    dev_outcomes: Sequence[Outcome],
    test: Sequence[Call],
    test_outcomes: Sequence[Outcome],
    rule: Rule,
) -> dict[str, Any]:
    """Our figures under another corroboration `rule`, its own dev threshold.

    The outcomes do not depend on the threshold, so they are reused.
    """
    threshold = choose_threshold(dev, dev_outcomes, DEV_FALSE_ACCEPT_TARGET, rule)
    return {
        **figures(test, test_outcomes, threshold, rule),
        "rule": None if rule is None else {"agreeing": rule[0], "disagreeing": rule[1]},
        "accept_threshold": threshold,
        "dev": figures(dev, dev_outcomes, threshold, rule),
    }


def run(
    data: Path = DEFAULT_DATA,
    limit: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole evaluation as one JSON-ready dict (see the module docstring)."""
    started = time.perf_counter()
    profiles = load_profiles(data)
    calls = load_calls(data, limit)
    dev = [c for c in calls if c.development]
    test = [c for c in calls if not c.development]
    logger.info(
        "EVI: %d profiles, %d dev calls, %d reported calls",
        len(profiles),
        len(dev),
        len(test),
    )
    probe = IdentityResolver(profiles)
    done = 0

    def outcomes_of(part: Sequence[Call], resolver: IdentityResolver) -> list[Outcome]:
        nonlocal done
        found = []
        for call in part:
            found.append(resolve_call(resolver, call))
            done += 1
            if progress is not None:
                progress(done, len(calls))
        return found

    dev_outcomes = outcomes_of(dev, probe)
    threshold = choose_threshold(dev, dev_outcomes, DEV_FALSE_ACCEPT_TARGET)
    resolver = IdentityResolver(profiles, ResolverConfig(accept_threshold=threshold))
    test_outcomes = outcomes_of(test, resolver)
    baselines = {
        name: [ExactBaseline(profiles, spoken).outcome(call) for call in test]
        for name, spoken in ((BASELINE, True), (WRITTEN_BASELINE, False))
    }
    return {
        "eval": "identity",
        "dataset": DATASET,
        "data": str(data),
        "n": len(test),
        "systems": {
            "cx-context": figures(test, test_outcomes, threshold),
            **{
                name: figures(test, outcomes, 1.0)
                for name, outcomes in baselines.items()
            },
        },
        "settings": {
            "accept_threshold": threshold,
            "corroboration": {
                "agreeing": SERVICE_RULE[0],
                "disagreeing": SERVICE_RULE[1],
            }
            if SERVICE_RULE
            else None,
            "dev_false_accept_target": DEV_FALSE_ACCEPT_TARGET,
            "dev_accuracy_slack": ACCURACY_SLACK,
            "split": "sha256(speaker_id)[0] even -> development; reported: odd",
            "n_dev": len(dev),
            "n_profiles": len(profiles),
            "limit": limit,
            "dev": figures(dev, dev_outcomes, threshold),
        },
        "ablations": {
            name: _ablation(dev, dev_outcomes, test, test_outcomes, rule)
            for name, rule in ABLATIONS.items()
        },
        "runtime_s": round(time.perf_counter() - started, 1),
    }
