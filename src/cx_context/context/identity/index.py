"""Blocking indexes: the few profiles worth comparing with one contact's claims.

Comparing every claim with every profile is too slow for a live call, so
profiles are indexed by keys a matching profile is likely to share with some
reading of the claims: the postcode and its one-character deletions (which
finds every postcode within one edit, and many within two), its outward and
inward halves, the date of birth and each pair of its parts, the metaphone
keys of first and last names, and how a name starts and ends (for spelled-out
names). Strong identifiers are indexed by their normalized value.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable

from cx_context.context.identity.compare import (
    ReadClaims,
    compact_postcode,
    phonetic_key,
    split_name,
)
from cx_context.context.identity.errors import InvalidIdentifierError
from cx_context.context.identity.model import Profile
from cx_context.context.identity.normalize import normalize_identifier

logger = logging.getLogger(__name__)


def _deletions(text: str) -> set[str]:
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}


class BlockingIndex:
    """Profiles by blocking key, and by strong identifier."""

    def __init__(self, profiles: Iterable[Profile], region: str) -> None:
        self.profiles: dict[str, Profile] = {}
        self.names: dict[str, tuple[str, str]] = {}
        self._keys: defaultdict[str, set[str]] = defaultdict(set)
        self._identifiers: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        skipped = 0
        for profile in profiles:
            self.profiles[profile.party_id] = profile
            skipped += self._add(profile, region)
        if skipped:
            logger.warning(
                "%d stored identifiers could not be normalized and are not indexed",
                skipped,
            )

    def __len__(self) -> int:
        return len(self.profiles)

    def _add(self, profile: Profile, region: str) -> int:
        skipped = self._add_identifiers(profile, region)
        self._add_weak(profile)
        return skipped

    def _add_identifiers(self, profile: Profile, region: str) -> int:
        skipped = 0
        for kind, values in profile.identifiers.items():
            for value in values:
                try:
                    normal = normalize_identifier(kind, value, region)
                except InvalidIdentifierError:
                    skipped += 1
                    continue
                self._identifiers[(kind, normal)].add(profile.party_id)
        return skipped

    def _add_weak(self, profile: Profile) -> None:
        pid = profile.party_id
        if profile.postcode:
            code = compact_postcode(profile.postcode)
            for key in _deletions(code):
                self._keys["p:" + key].add(pid)
            if len(code) >= 5:
                self._keys["po:" + code[:-3]].add(pid)
                self._keys["pi:" + code[-3:]].add(pid)
        if profile.dob:
            d, m, y = profile.dob.day, profile.dob.month, profile.dob.year
            for key in (f"dm:{d}/{m}", f"my:{m}/{y}", f"dy:{d}/{y}"):
                self._keys[key].add(pid)
        if profile.name:
            first, last = split_name(profile.name)
            self.names[pid] = (first, last)
            for word in (first, last):
                if word:
                    self._keys["n:" + word].add(pid)
                    self._keys["k:" + phonetic_key(word)].add(pid)
            # A spelled-out name is looked up by how it starts and ends.
            if len(first) >= 3:
                self._keys["s:" + first[:3]].add(pid)
            if len(last) >= 3:
                self._keys["e:" + last[-3:]].add(pid)

    def by_identifier(self, kind: str, normal: str) -> set[str]:
        """Parties holding an identifier of `kind` with this normalized value."""
        return set(self._identifiers.get((kind, normal), ()))

    def candidates(self, read: ReadClaims) -> set[str]:
        """Parties sharing at least one blocking key with a reading of the claims."""
        keys: set[str] = set()
        for reading in read.postcodes:
            keys.update("p:" + k for k in _deletions(reading))
            keys.add("po:" + reading)
            if len(reading) >= 5:
                keys.add("po:" + reading[:-3])
                keys.add("pi:" + reading[-3:])
        for date in read.dobs:
            d, m, y = date.day, date.month, date.year
            if d is not None and m is not None:
                keys.add(f"dm:{d}/{m}")
            if m is not None and y is not None:
                keys.add(f"my:{m}/{y}")
            if d is not None and y is not None:
                keys.add(f"dy:{d}/{y}")
        for word in read.words:
            keys.add("n:" + word)
        keys.update("k:" + key for key in read.keys)
        for joined in read.spelled_out:
            keys.add("s:" + joined[:3])
            keys.add("e:" + joined[-3:])
        found: set[str] = set()
        for key in keys:
            found.update(self._keys.get(key, ()))
        return found
