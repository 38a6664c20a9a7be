"""`IdentityResolver`: which party a contact is, how sure we are, and why.

Strong identifiers (email, phone, account number, username, CRM id, external
id) decide deterministically: an exact normalized value names its party.
Without them, spoken or typed name, postcode and date of birth are weighed
Fellegi-Sunter style against the profiles a blocking index proposes, and the
weights become a posterior confidence. Only a confidence at or above the
threshold is a match; below it the caller gets a ranked candidate list or
nothing, and nothing is merged or linked automatically.

The posterior weighs coincidence: how likely a stranger is to say what a
profile holds. It cannot weigh a caller who knows a customer's name, and on a
small store a name that is rare there is near certain. So a match from weak
claims must also be corroborated: at least `min_agreeing_facts` of name,
postcode and date of birth agree with the profile, and no more than
`max_disagreeing_facts` (none, by default) disagree. A
candidate that has the confidence but not the corroboration is held back as
ambiguous, with the reason, for an agent to ask one more question.
"""

import datetime as dt
import logging
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from cx_context.context.identity.compare import Level, ReadClaims
from cx_context.context.identity.errors import InvalidConfigError
from cx_context.context.identity.index import BlockingIndex
from cx_context.context.identity.model import (
    FACTS,
    Candidate,
    Claims,
    FieldMatch,
    Profile,
    Resolution,
)
from cx_context.context.identity.normalize import DEFAULT_REGION, normalize_identifier
from cx_context.context.identity.weights import (
    DEFAULT_ODDS,
    FIELDS,
    FieldOdds,
    check_odds,
    posteriors,
    weight,
)

logger = logging.getLogger(__name__)

# Chosen on the development side of the EVI calls by `cx-context eval identity`
# (see `cx_context.eval.identity.choose_threshold`), with the default
# corroboration rule: at most 1 in 200 callers whose own profile was removed
# are accepted as somebody else, with top-1 accuracy within half a point of
# the best such threshold's.
DEFAULT_ACCEPT_THRESHOLD = 0.999


@dataclass(frozen=True)
class ResolverConfig:
    """Settings of the resolver; every one is checked when it is built.

    accept_threshold: the least confidence that is a match.
    candidate_floor: the least confidence for a candidate to be listed.
    max_candidates: how many candidates a resolution lists at most.
    prior_unknown: the prior chance that a caller is in the store under nobody.
    min_agreeing_facts: how many of name, postcode and date of birth must agree
        with a profile before weak claims may match it automatically.
    max_disagreeing_facts: how many of them may disagree with it and still
        allow an automatic match.
    region: the region national phone numbers are read in.
    """

    accept_threshold: float = DEFAULT_ACCEPT_THRESHOLD
    candidate_floor: float = 0.01
    max_candidates: int = 5
    prior_unknown: float = 0.1
    min_agreeing_facts: int = 2
    max_disagreeing_facts: int = 0
    region: str = DEFAULT_REGION
    odds: Mapping[str, FieldOdds] = field(default_factory=lambda: DEFAULT_ODDS)

    def __post_init__(self) -> None:
        for name in ("accept_threshold", "candidate_floor"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise InvalidConfigError(f"{name} must be in (0, 1]; got {value}")
        if not 0.0 < self.prior_unknown < 1.0:
            raise InvalidConfigError(
                f"prior_unknown must be in (0, 1); got {self.prior_unknown}"
            )
        if not 1 <= self.min_agreeing_facts <= len(FACTS):
            raise InvalidConfigError(
                f"min_agreeing_facts must be between 1 and {len(FACTS)} "
                f"({', '.join(FACTS)}); got {self.min_agreeing_facts}"
            )
        if not 0 <= self.max_disagreeing_facts <= len(FACTS) - 1:
            raise InvalidConfigError(
                f"max_disagreeing_facts must be between 0 and {len(FACTS) - 1}; "
                f"got {self.max_disagreeing_facts}"
            )
        if self.max_candidates < 1:
            raise InvalidConfigError(
                f"max_candidates must be >= 1; got {self.max_candidates}"
            )
        check_odds(self.odds)


class IdentityResolver:
    """Resolves contacts against a fixed set of profiles, indexed once.

    Build it with the store's profiles (`CustomerStore.profiles()`), then call
    `resolve` per contact; it holds no other state and is safe to share
    between threads once built.
    """

    def __init__(
        self,
        profiles: Iterable[Profile],
        config: ResolverConfig | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.config = config or ResolverConfig()
        self._today = today
        self._index = BlockingIndex(profiles, self.config.region)
        self._weights = {
            name: {"missing": 0.0}
            | {level: weight(self.config.odds, name, level) for level in levels}
            for name, levels in self.config.odds.items()
        }
        logger.info("identity resolver indexed %d profiles", len(self._index))

    def __len__(self) -> int:
        return len(self._index)

    def resolve(self, claims: Claims, exclude: Collection[str] = ()) -> Resolution:
        """The party `claims` belong to, candidates when unsure, or no match.

        `exclude` leaves parties out as if they were not stored (to ask, for
        instance, whether a caller could pass for somebody else). Raises
        InvalidIdentifierError for an identifier of an unknown kind or a value
        that cannot be normalized.
        """
        excluded = set(exclude)
        if claims.identifiers:
            found = self._by_identifiers(claims, excluded)
            if found is not None:
                return found
        if not claims.has_weak:
            return self._nobody("none")
        return self._weigh(claims, excluded)

    # Strong identifiers ------------------------------------------------------------

    def _by_identifiers(self, claims: Claims, excluded: set[str]) -> Resolution | None:
        """Deterministic resolution, or None when no identifier is known."""
        hits: dict[str, list[FieldMatch]] = {}
        for kind, value in claims.identifiers:
            normal = normalize_identifier(kind, value, self.config.region)
            for pid in self._index.by_identifier(kind, normal) - excluded:
                hits.setdefault(pid, []).append(
                    FieldMatch(kind, "exact", 1.0, math.inf)
                )
        if not hits:
            return None
        share = 1.0 / len(hits)
        candidates = tuple(
            Candidate(pid, share, math.inf, tuple(matches))
            for pid, matches in sorted(hits.items(), key=lambda h: (-len(h[1]), h[0]))
        )
        if len(candidates) == 1:
            logger.debug("contact resolved by identifier")
            return Resolution(
                "matched",
                "identifier",
                candidates[0].party_id,
                1.0,
                self.config.accept_threshold,
                candidates,
            )
        # Two parties holding the same identifier is a data problem for a person.
        logger.info("identifiers of one contact are held by %d parties", len(hits))
        return Resolution(
            "ambiguous",
            "identifier",
            None,
            share,
            self.config.accept_threshold,
            candidates[: self.config.max_candidates],
        )

    # Weak claims ------------------------------------------------------------------

    def _weigh(self, claims: Claims, excluded: set[str]) -> Resolution:
        read = ReadClaims.of(claims, self._today)
        pids = sorted(self._index.candidates(read) - excluded)
        if not pids:
            return self._nobody("probabilistic")
        scored = [self._score(pid, read) for pid in pids]
        population = len(self._index) - len(excluded & self._index.profiles.keys())
        confidences = posteriors(
            [total for total, _ in scored], population, self.config.prior_unknown
        )
        ranked = sorted(
            zip(pids, scored, confidences, strict=True),
            key=lambda item: (-item[2], item[0]),
        )
        listed = tuple(
            Candidate(pid, confidence, total, self._explain(levels))
            for pid, (total, levels), confidence in ranked[: self.config.max_candidates]
            if confidence >= self.config.candidate_floor
        )
        top_pid, (top_total, top_levels), top_confidence = ranked[0]
        top = Candidate(top_pid, top_confidence, top_total, self._explain(top_levels))
        threshold = self.config.accept_threshold
        logger.debug(
            "contact weighed against %d candidates; top confidence %.3f",
            len(pids),
            top_confidence,
        )
        held_back = None
        if top_confidence >= threshold:
            held_back = self.uncorroborated(top)
            if held_back is None:
                return Resolution(
                    "matched",
                    "probabilistic",
                    top_pid,
                    top_confidence,
                    threshold,
                    listed,
                )
            logger.debug("top candidate held back: %s", held_back)
        return Resolution(
            "ambiguous" if listed else "no_match",
            "probabilistic",
            None,
            top_confidence,
            threshold,
            listed,
            held_back,
        )

    def uncorroborated(self, candidate: Candidate) -> str | None:
        """Why weak claims may not match `candidate` automatically, or None.

        Independent of the confidence: at least `min_agreeing_facts` of name,
        postcode and date of birth must agree with it, and at most
        `max_disagreeing_facts` may disagree.
        """
        agreeing, disagreeing = candidate.agreeing, candidate.disagreeing
        needed = self.config.min_agreeing_facts
        allowed = self.config.max_disagreeing_facts
        if len(disagreeing) <= allowed and len(agreeing) >= needed:
            return None
        limit = f"at most {allowed}" if allowed else "none"
        rule = (
            f"an automatic match needs {needed} of {', '.join(FACTS)} to agree "
            f"and {limit} to disagree"
        )
        found = [
            f"agreeing: {', '.join(agreeing) or 'none'}",
            *([f"disagreeing: {', '.join(disagreeing)}"] if disagreeing else []),
        ]
        return f"{rule}; {'; '.join(found)}"

    def _score(self, pid: str, read: ReadClaims) -> tuple[float, list[Level]]:
        """The total weight of one candidate, and its level per field."""
        profile = self._index.profiles[pid]
        first, last = self._index.names.get(pid, ("", ""))
        levels = [
            read.postcode(profile.postcode),
            read.dob(profile.dob),
            read.first_name(first),
            read.last_name(last),
        ]
        weights = self._weights
        total = sum(
            weights[name][level]
            for name, (level, _) in zip(FIELDS, levels, strict=True)
        )
        return total, levels

    def _explain(self, levels: list[Level]) -> tuple[FieldMatch, ...]:
        return tuple(
            FieldMatch(name, level, similarity, self._weights[name][level])
            for name, (level, similarity) in zip(FIELDS, levels, strict=True)
        )

    def _nobody(self, method: str) -> Resolution:
        return Resolution(
            "no_match",
            "probabilistic" if method == "probabilistic" else "none",
            None,
            0.0,
            self.config.accept_threshold,
        )
