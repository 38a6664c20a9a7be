"""Field comparisons: how a contact's readings agree with one profile's values.

Claims are read once per contact (`ReadClaims`); each profile field is then
compared with every reading and the best agreement kept, as a level
(exact, fuzzy, phonetic, partial, disagree, missing) and a similarity.
"""

import datetime as dt
from dataclasses import dataclass, field

import jellyfish
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from cx_context.context.identity.dates import PartialDate, dob_readings
from cx_context.context.identity.model import Claims
from cx_context.context.identity.normalize import normalize_name
from cx_context.context.identity.spoken import (
    is_spelled,
    name_forms,
    postcode_readings,
)

FUZZY_NAME = 0.8
Level = tuple[str, float]
"""A match level and the similarity behind it."""


def compact_postcode(postcode: str) -> str:
    """A postcode without spaces or dashes, upper case: how readings look."""
    return "".join(c for c in postcode.upper() if c.isalnum())


def split_name(name: str) -> tuple[str, str]:
    """First and last word of a normalized name ("" when there is one word)."""
    words = normalize_name(name).split()
    if not words:
        return "", ""
    return words[0], (words[-1] if len(words) > 1 else "")


def phonetic_key(word: str) -> str:
    """The metaphone key a name word is blocked and compared by."""
    return jellyfish.metaphone(word) if word.isalpha() else ""


@dataclass
class ReadClaims:
    """Every reading of one contact's weak claims, computed once."""

    postcodes: list[str]
    dobs: list[PartialDate]
    words: list[str]
    spelled: list[str]
    spelled_out: list[str]
    keys: set[str] = field(default_factory=set)
    _long_words: list[str] = field(default_factory=list)
    _cache: dict[str, Level] = field(default_factory=dict)
    _dob_cache: dict[dt.date, Level] = field(default_factory=dict)

    @classmethod
    def of(cls, claims: Claims, today: dt.date | None = None) -> "ReadClaims":
        postcodes: list[str] = []
        for attempt in claims.postcode:
            for text in attempt:
                postcodes.extend(postcode_readings(text))
        dobs: list[PartialDate] = []
        for attempt in claims.dob:
            for text in attempt:
                dobs.extend(dob_readings(text, today))
        words: list[str] = []
        spelled: list[str] = []
        spelled_out: list[str] = []
        for attempt in claims.name:
            for text in attempt:
                content, joined = name_forms(text)
                words.extend(w for w in content if len(w) >= 2)
                if len(joined) >= 3 and (is_spelled(content) or len(content) > 1):
                    spelled.append(joined)
                if len(joined) >= 3 and is_spelled(content):
                    spelled_out.append(joined)
        read = cls(
            postcodes=list(dict.fromkeys(p for p in postcodes if len(p) >= 2)),
            dobs=list(dict.fromkeys(dobs)),
            words=list(dict.fromkeys(words)),
            spelled=list(dict.fromkeys(spelled)),
            spelled_out=list(dict.fromkeys(spelled_out)),
        )
        read._long_words = [w for w in read.words if len(w) >= 3]
        read.keys = {phonetic_key(w) for w in read._long_words} - {""}
        return read

    # Postcode ------------------------------------------------------------------

    def postcode(self, value: str | None) -> Level:
        """Exact, fuzzy (one edit), partial (two edits, or a half), disagree."""
        if not value or not self.postcodes:
            return "missing", 0.0
        # A household shares a postcode: compare each one once per contact.
        cached = self._cache.get("p:" + value)
        if cached is None:
            cached = self._cache["p:" + value] = self._postcode(value)
        return cached

    def _postcode(self, value: str) -> Level:
        target = compact_postcode(value)
        best = min(
            Levenshtein.distance(r, target, score_cutoff=3) for r in self.postcodes
        )
        similarity = max(0.0, 1.0 - best / len(target))
        if best == 0:
            return "exact", 1.0
        if best == 1:
            return "fuzzy", similarity
        outward, inward = target[:-3], target[-3:]
        if best == 2 or any(r in (outward, inward) for r in self.postcodes):
            return "partial", similarity
        return "disagree", similarity

    # Date of birth ------------------------------------------------------------------

    def dob(self, value: dt.date | None) -> Level:
        """Exact (day, month and year), partial (two of them), disagree."""
        if value is None or not self.dobs:
            return "missing", 0.0
        cached = self._dob_cache.get(value)
        if cached is None:
            cached = self._dob_cache[value] = self._dob(value)
        return cached

    def _dob(self, value: dt.date) -> Level:
        best = max(reading.matches(value) for reading in self.dobs)
        if best == 3:
            return "exact", 1.0
        if best == 2:
            return "partial", 2 / 3
        return "disagree", best / 3

    # Names ----------------------------------------------------------------------------

    def first_name(self, value: str) -> Level:
        return self._name(value, first=True)

    def last_name(self, value: str) -> Level:
        return self._name(value, first=False)

    def _name(self, value: str, first: bool) -> Level:
        """Exact, phonetic (same metaphone), fuzzy (ratio >= 0.8), disagree.

        A word of the claim is compared with the whole name part; a spelled
        form with the same number of letters from its start (first name) or
        its end (last name).
        """
        if not value or not (self.words or self.spelled):
            return "missing", 0.0
        cache_key = ("f:" if first else "l:") + value
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        similarity = 0.0
        if value in self.words:
            similarity = 1.0
        elif self._long_words:
            found = process.extractOne(value, self._long_words, scorer=fuzz.ratio)
            similarity = found[1] / 100 if found else 0.0
        size = len(value)
        for joined in self.spelled:
            if similarity == 1.0:
                break
            part = joined[:size] if first else joined[-size:]
            similarity = max(similarity, fuzz.ratio(part, value) / 100)
        if similarity == 1.0:
            level: Level = ("exact", 1.0)
        elif len(value) >= 3 and phonetic_key(value) in self.keys:
            level = ("phonetic", similarity)
        elif similarity >= FUZZY_NAME:
            level = ("fuzzy", similarity)
        else:
            level = ("disagree", similarity)
        self._cache[cache_key] = level
        return level
