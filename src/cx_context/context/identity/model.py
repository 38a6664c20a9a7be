"""What the resolver takes in and gives back: profiles, claims and resolutions.

All plain, frozen data: a profile is what the record store knows of a party,
claims are what a contact said or showed, and a resolution says which party
that is, how sure we are and why. A resolution carries field names, match
levels, similarities and weights, never the values compared.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Utterance = tuple[str, ...]
"""One attempt at saying a value: the recogniser's alternatives, best first."""

Status = Literal["matched", "ambiguous", "no_match"]
Method = Literal["identifier", "probabilistic", "none"]

FACTS: Mapping[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "postcode": ("postcode",),
    "dob": ("dob",),
}
"""The independent facts a caller can state, and the compared fields of each."""
AGREEING_LEVELS = frozenset({"exact", "fuzzy"})
"""Levels at which a field states the profile's value, give or take a slip."""


@dataclass(frozen=True)
class Profile:
    """The identity attributes of one party, as the resolver indexes them.

    `identifiers` maps a kind (email, phone, ...) to the values known for it.
    """

    party_id: str
    name: str | None = None
    postcode: str | None = None
    dob: dt.date | None = None
    identifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _utterances(
    value: str | Sequence[str] | Sequence[Sequence[str]],
) -> tuple[Utterance, ...]:
    if isinstance(value, str):
        return ((value,),)
    attempts: list[Utterance] = []
    for item in value:
        attempts.append((item,) if isinstance(item, str) else tuple(item))
    return tuple(a for a in attempts if any(h.strip() for h in a))


@dataclass(frozen=True)
class Claims:
    """What one contact offered to identify itself.

    Strong identifiers are (kind, value) pairs. Each weak field is a tuple of
    attempts, and each attempt a tuple of recogniser alternatives; a typed
    value is an attempt with one alternative.
    """

    identifiers: tuple[tuple[str, str], ...] = ()
    name: tuple[Utterance, ...] = ()
    postcode: tuple[Utterance, ...] = ()
    dob: tuple[Utterance, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        identifiers: Iterable[tuple[str, str]] = (),
        name: str | Sequence[str] | Sequence[Sequence[str]] = (),
        postcode: str | Sequence[str] | Sequence[Sequence[str]] = (),
        dob: str | Sequence[str] | Sequence[Sequence[str]] = (),
    ) -> "Claims":
        """Claims from loose input: a string is one attempt, a list of strings
        is several attempts, a list of lists is attempts with alternatives."""
        return cls(
            identifiers=tuple(identifiers),
            name=_utterances(name),
            postcode=_utterances(postcode),
            dob=_utterances(dob),
        )

    @property
    def has_weak(self) -> bool:
        return bool(self.name or self.postcode or self.dob)


@dataclass(frozen=True)
class FieldMatch:
    """How one field of the claims compared with one profile.

    `level` is exact, fuzzy, phonetic, partial, disagree or missing;
    `similarity` is in [0, 1]; `weight` is the log-likelihood ratio it added.
    """

    field: str
    level: str
    similarity: float
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "level": self.level,
            "similarity": round(self.similarity, 3),
            "weight": round(self.weight, 3),
        }


@dataclass(frozen=True)
class Candidate:
    """One party the claims may belong to, with its confidence and reasons."""

    party_id: str
    confidence: float
    weight: float
    fields: tuple[FieldMatch, ...]

    @property
    def agreeing(self) -> tuple[str, ...]:
        """The facts (name, postcode, dob) stated and agreeing in every field."""
        levels = {f.field: f.level for f in self.fields}
        found = []
        for fact, names in FACTS.items():
            stated = [levels[n] for n in names if levels.get(n, "missing") != "missing"]
            if stated and all(level in AGREEING_LEVELS for level in stated):
                found.append(fact)
        return tuple(found)

    @property
    def disagreeing(self) -> tuple[str, ...]:
        """The facts with a field that disagrees with this party's value."""
        levels = {f.field: f.level for f in self.fields}
        return tuple(
            fact
            for fact, names in FACTS.items()
            if any(levels.get(n) == "disagree" for n in names)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "party_id": self.party_id,
            "confidence": round(self.confidence, 4),
            "weight": round(self.weight, 3),
            "fields": [f.to_dict() for f in self.fields],
        }


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one contact's claims.

    `matched`: `party_id` is the one party accepted, with `confidence` at or
    above the threshold and, from weak claims, corroborated (see
    `IdentityResolver`). `ambiguous`: nobody was accepted, and `candidates`
    ranks the parties worth an agent's question; `held_back` says why when the
    top one had the confidence but not the corroboration. `no_match`: nobody
    came close. Nothing below the threshold is ever a match, so nothing below
    it may be merged or linked automatically.
    """

    status: Status
    method: Method
    party_id: str | None
    confidence: float
    threshold: float
    candidates: tuple[Candidate, ...] = ()
    held_back: str | None = None
    """Why a top candidate at or above the threshold was still not accepted."""

    @property
    def accepted(self) -> bool:
        return self.status == "matched"

    def explanation(self) -> str:
        """One line a person can read: what matched the top candidate, and how."""
        if not self.candidates:
            return "no profile matched any claim"
        top = self.candidates[0]
        parts = [
            f"{f.field} {f.level} ({f.similarity:.2f}, weight {f.weight:+.1f})"
            for f in top.fields
            if f.level != "missing"
        ]
        verdict = {
            "matched": "accepted",
            "ambiguous": "not accepted (ambiguous)",
            "no_match": "not accepted",
        }[self.status]
        held_back = f" ({self.held_back})" if self.held_back else ""
        return (
            f"{verdict}: confidence {top.confidence:.3f} against threshold "
            f"{self.threshold:.3f}{held_back}; " + "; ".join(parts)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "method": self.method,
            "party_id": self.party_id,
            "confidence": round(self.confidence, 4),
            "threshold": self.threshold,
            "held_back": self.held_back,
            "explanation": self.explanation(),
            "candidates": [c.to_dict() for c in self.candidates],
        }
