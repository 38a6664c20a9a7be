"""Phone numbers of the configured regions, written the way people type them."""

import re
from typing import Any

import phonenumbers
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

# Presidio's context enhancer skips spaCy stop words, and "call" is one, so
# the cue is looked for here: a few words before the number, or one after it
# ("... 88 37 office").
_CUE_WORDS = (
    r"phone|mobile|cell|call|ring|text|landline|tel|telephone|fax|desk|office|"
    r"reach|contact|whatsapp|sms"
)
_CUE_BEFORE = re.compile(rf"\b(?:{_CUE_WORDS})\b", re.IGNORECASE)
_CUE_AFTER = re.compile(rf"^\W{{0,3}}(?:{_CUE_WORDS})\b", re.IGNORECASE)
_WINDOW = 40

_MIN_DIGITS = 7
# E.164 numbers have at most 15 digits, country code included.
_MAX_DIGITS = 15
# A run of digits with the separators people type, for numbers of regions
# that are not configured ("13812345678", "6 1234 5678").
_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\d(?:[ .()-]?\d){6,16}(?!\w)")
_DATE = re.compile(r"\d{4}[.-]\d\d?[.-]\d\d?|\d\d?[.-]\d\d?[.-]\d{4}")


class ConversationPhoneRecognizer(LocalRecognizer):
    """Finds phone numbers of a list of regions, in any common notation.

    The phonenumbers library's lenient matcher finds numbers with spaces,
    brackets, dots, a leading + or 00, and numbers glued to letters
    ("ref0412555019"), which Presidio's own phone recognizer refuses. A number
    valid in a configured region is reported on its own. A number that only
    looks possible, or a bare run of digits (which order and account numbers
    also are), scores low and needs a context word such as "call" or "mobile".
    With such a word before it, a run of 7 to 15 digits counts whatever its
    region ("phone 13812345678"): customers write from abroad, and almost
    every such run is valid in some region's plan (80 to 100% of random ones),
    so the cue decides. It scores under a cued order or account number.
    """

    VALID_SCORE = 0.7
    BARE_DIGITS_SCORE = 0.45
    POSSIBLE_SCORE = 0.3
    FOREIGN_SCORE = 0.25
    CUE_BOOST = 0.35

    def __init__(self, regions: tuple[str, ...]) -> None:
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            name="ConversationPhoneRecognizer",
        )
        self._regions = regions

    def load(self) -> None:  # the number metadata ships with phonenumbers
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if "PHONE_NUMBER" not in entities:
            return []
        # Whether each candidate is valid in a configured region; None for a
        # run of digits no configured region's matcher took.
        found: dict[tuple[int, int], bool | None] = {}
        for region in self._regions:
            for match in phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.POSSIBLE
            ):
                key = (match.start, match.end)
                found[key] = found.get(key, False) or phonenumbers.is_valid_number(
                    match.number
                )
        matched = list(found)
        for run in _DIGIT_RUN.finditer(text):
            start, end = run.span()
            if not any(start < e and s < end for s, e in matched):
                found[(start, end)] = None
        results = []
        for (start, end), valid in found.items():
            if any(
                s <= start and end <= e and (s, e) != (start, end) for s, e in found
            ):
                continue
            raw = text[start:end]
            cued = self._cued(text, start, end)
            score = self._score(raw, valid, cued)
            if score is not None and cued:
                score = min(1.0, score + self.CUE_BOOST)
            if score is not None:
                results.append(
                    RecognizerResult(
                        "PHONE_NUMBER",
                        start,
                        end,
                        score,
                        AnalysisExplanation(
                            recognizer=self.__class__.__name__,
                            original_score=score,
                            textual_explanation=(
                                "valid number" if valid else "possible number"
                            ),
                        ),
                    )
                )
        return results

    @staticmethod
    def _cued(text: str, start: int, end: int) -> bool:
        before = text[max(0, start - _WINDOW) : start]
        return bool(_CUE_BEFORE.search(before) or _CUE_AFTER.match(text[end:]))

    def _score(self, raw: str, valid: bool | None, cued: bool) -> float | None:
        digits = sum(ch.isdigit() for ch in raw)
        if digits < _MIN_DIGITS or "/" in raw:
            return None
        bare = raw.isdigit()
        if valid:
            return self.BARE_DIGITS_SCORE if bare else self.VALID_SCORE
        if valid is False and not bare:
            return self.POSSIBLE_SCORE
        if cued and digits <= _MAX_DIGITS and not _DATE.fullmatch(raw):
            return self.FOREIGN_SCORE
        return None
