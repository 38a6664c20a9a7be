"""Fellegi-Sunter weights: how much each level of agreement says about a match.

For a field at a level, m is the chance of that level when the profile is the
caller's own and u the chance when it is someone else's; the weight is
ln(m / u). Weights of independent fields add up to a log-likelihood ratio per
profile, and `posteriors` turns those into the probability that the caller is
each profile, allowing for callers who are in the store under nobody.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cx_context.context.identity.errors import InvalidConfigError

FIELDS = ("postcode", "dob", "first_name", "last_name")


@dataclass(frozen=True)
class LevelOdds:
    """m and u of one level of one field."""

    m: float
    u: float

    @property
    def weight(self) -> float:
        return math.log(self.m / self.u)


FieldOdds = Mapping[str, LevelOdds]

# Estimated on the development half of the EVI calls (speakers hashed to the
# development side; see cx_context.eval.identity), rounded, and kept away from
# 0 and 1 so that no single field can settle or veto a match alone. u is the
# rate among the other profiles of the store, for which a reading of the claim
# is compared with each profile in the same way as with the caller's own.
DEFAULT_ODDS: Mapping[str, FieldOdds] = {
    "postcode": {
        "exact": LevelOdds(0.72, 0.0005),
        "fuzzy": LevelOdds(0.19, 0.0002),
        "partial": LevelOdds(0.05, 0.002),
        "disagree": LevelOdds(0.04, 0.997),
    },
    "dob": {
        "exact": LevelOdds(0.97, 0.0001),
        "partial": LevelOdds(0.022, 0.008),
        "disagree": LevelOdds(0.008, 0.99),
    },
    "first_name": {
        "exact": LevelOdds(0.965, 0.006),
        "phonetic": LevelOdds(0.008, 0.01),
        "fuzzy": LevelOdds(0.009, 0.005),
        "disagree": LevelOdds(0.012, 0.98),
    },
    "last_name": {
        "exact": LevelOdds(0.975, 0.008),
        "phonetic": LevelOdds(0.005, 0.006),
        "fuzzy": LevelOdds(0.006, 0.005),
        "disagree": LevelOdds(0.012, 0.98),
    },
}


def check_odds(odds: Mapping[str, FieldOdds]) -> None:
    """Refuse a table with a missing field or an m or u outside (0, 1)."""
    for name in FIELDS:
        if name not in odds:
            raise InvalidConfigError(
                f"match odds must cover the fields {', '.join(FIELDS)}; "
                f"{name} is missing"
            )
        for level, pair in odds[name].items():
            for label, value in (("m", pair.m), ("u", pair.u)):
                if not 0.0 < value < 1.0:
                    raise InvalidConfigError(
                        f"{name}.{level}.{label} must be in (0, 1); got {value}"
                    )


def weight(odds: Mapping[str, FieldOdds], name: str, level: str) -> float:
    """The weight of `level` on field `name`; a missing field weighs nothing."""
    if level == "missing":
        return 0.0
    return odds[name][level].weight


def posteriors(
    weights: Sequence[float], population: int, prior_unknown: float
) -> list[float]:
    """P(the caller is candidate i | the evidence), for each candidate's weight.

    Each of the `population` profiles is a priori equally likely to be the
    caller, who is in the store at all with probability 1 - `prior_unknown`.
    Profiles that are not candidates disagreed on every blocking key, so their
    likelihood ratio is taken as 0.
    """
    if not weights:
        return []
    # log of the odds mass of "the caller is nobody we hold", per profile.
    unknown = math.log(prior_unknown / (1.0 - prior_unknown) * max(population, 1))
    top = max(*weights, unknown)
    total = math.exp(unknown - top) + sum(math.exp(w - top) for w in weights)
    return [math.exp(w - top) / total for w in weights]
