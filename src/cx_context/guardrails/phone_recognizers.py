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


class ConversationPhoneRecognizer(LocalRecognizer):
    """Finds phone numbers of a list of regions, in any common notation.

    The phonenumbers library's lenient matcher finds numbers with spaces,
    brackets, dots, a leading + or 00, and numbers glued to letters
    ("ref0412555019"), which Presidio's own phone recognizer refuses. A number
    valid in a configured region is reported on its own. A number that only
    looks possible, or a bare run of digits (which order and account numbers
    also are), scores low and needs a context word such as "call" or "mobile".
    """

    VALID_SCORE = 0.7
    BARE_DIGITS_SCORE = 0.45
    POSSIBLE_SCORE = 0.3
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
        found: dict[tuple[int, int], bool] = {}
        for region in self._regions:
            for match in phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.POSSIBLE
            ):
                key = (match.start, match.end)
                found[key] = found.get(key, False) or phonenumbers.is_valid_number(
                    match.number
                )
        results = []
        for (start, end), valid in found.items():
            if any(
                s <= start and end <= e and (s, e) != (start, end) for s, e in found
            ):
                continue
            score = self._score(text[start:end], valid)
            if score is not None and self._cued(text, start, end):
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

    def _score(self, raw: str, valid: bool) -> float | None:
        digits = sum(ch.isdigit() for ch in raw)
        if digits < _MIN_DIGITS or "/" in raw:
            return None
        bare = raw.isdigit()
        if valid:
            return self.BARE_DIGITS_SCORE if bare else self.VALID_SCORE
        return None if bare else self.POSSIBLE_SCORE
