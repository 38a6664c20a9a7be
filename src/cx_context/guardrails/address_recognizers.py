"""Street addresses, postcodes and dates of birth as customers type them.

Presidio ships no address recognizer. Customers write addresses in English
order ("12 Harbour St, Pyrmont NSW 2009"), in continental order
("Nassaustraat 123"), on several lines, and in lower case; an address is
taken with the unit, town, state, country and postcode that follow it.
"""

import re
from typing import Any

from presidio_analyzer import (
    AnalysisExplanation,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)

STREET_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|terrace|tce|"
    "parade|pde|highway|hwy|crescent|cres|parkway|pkwy|place|pl|way|court|ct|"
    "close|square|sq|circuit|cct|grove|mews|esplanade|esp|promenade|plaza|"
    "alley|loop|rise|track|trail|quay|wharf|row"
)
# Words that end a continental street name ("Nassaustraat", "Ziegelgasse").
_STREET_ENDINGS = (
    "straat|strasse|straße|gasse|weg|laan|plein|gata|gatan|gade|vej|vegen|"
    "veien|allee|platz|utca|útja|ulica|gürtel|ring|kade|dreef|steeg|väg|tie|katu"
)
# Words that begin one ("Rue Descartes", "Via Roma").
_STREET_STARTS = (
    "rue|via|viale|calle|avenida|av|rua|piazza|plac|chemin|strada|carrer|"
    "paseo|travessa|largo|ul|pl|ulica|πλατεία|οδός|odos"
)
_UNIT = r"(?:suite|ste|apt|apartment|unit|flat|floor|level|lvl)\.?\s*#?\d{1,5}[a-z]?"
_NUMBER = r"\d{1,6}[a-z]?(?:[/-]\d{1,6})?"
_WORD = r"[^\W\d_][\w'’.-]*"
# Function words cannot be part of a street name, which keeps "2 items in
# the way" and "3 shirts or 4" out.
_NOT_FUNCTION_WORD = (
    r"(?!(?:the|a|an|of|to|in|on|at|my|your|our|for|and|or|is|are|was|it|"
    r"items?|x|by|per|each|more|less|than|with|from)\b)"
)
_NAME_WORD = _NOT_FUNCTION_WORD + _WORD

# English order: number(s), up to four words, a street suffix.
_ENGLISH = (
    rf"\b(?:{_NUMBER}\s+)?{_NUMBER}\s+(?:{_NAME_WORD}\s+){{0,4}}?"
    rf"(?:{STREET_SUFFIXES})\b\.?"
)
# A street-type word first: "48 107 Rue Abdelaziz Thâalbi".
_PREFIXED = (
    rf"\b(?:{_NUMBER}\s+)?(?:{_NUMBER}\s+)?(?:{_STREET_STARTS})\.?\s+"
    rf"(?:{_NAME_WORD})(?:\s+{_NAME_WORD}){{0,3}}"
)
# Continental order: words then the house number, the last word or the
# number marked as a street ("Ziegelgasse 26", "velký průhon 426").
_CONTINENTAL = (
    rf"\b(?:{_NUMBER}\s+)?(?:{_NAME_WORD}\s+){{0,3}}"
    rf"[^\W\d_]*(?:{_STREET_ENDINGS})\s+{_NUMBER}\b\.?"
)
# A number and a few words that may be a street only with support: an
# address cue before it ("lives at 87 Jakobi 69"), or the start of a line of a
# postal block, with a unit, a postcode or more lines after it.
_LOOSE = (
    rf"\b{_NUMBER}[ \t]+(?:{_NUMBER}[ \t]+)?(?:{_NAME_WORD}[ \t]+){{0,2}}"
    rf"(?:{_NAME_WORD}(?:[ \t]+{_NUMBER}\b\.?)?)"
)
_CUE = (
    r"(?:address(?:es)?(?:\s+is|\s+to|\s+with)?|live[sd]?\s+(?:at|on|in)|"
    r"living\s+(?:at|on|in)|located\s+at|is\s+(?:at|on)|lived\s+in|"
    r"(?:send|ship|deliver|return|post|mail)\s+(?:it\s+|them\s+)?to|"
    r"moved\s+to|here\s+they\s+are|it\s+is)[:\s]+$"
)
_CUE_BEFORE = re.compile(_CUE, re.IGNORECASE)
_LOOSE_STREET = re.compile(_LOOSE, re.IGNORECASE)

_STREET = re.compile(
    rf"(?:{_ENGLISH})|(?:{_PREFIXED})|(?:{_CONTINENTAL})", re.IGNORECASE
)
_CORNER = re.compile(
    rf"\b(?:the\s+)?corner\s+of\s+(?:{_WORD}\s+){{1,3}}?(?:{_NUMBER}\s+)?and\s+"
    rf"(?:{_WORD}\s+){{0,3}}(?:{STREET_SUFFIXES})\b\.?",
    re.IGNORECASE,
)

# What may follow a street, each piece after a comma or a line break: a unit,
# a town of up to three words, a state, a country, a postcode, or "Country
# 12345". A piece holding ':' or '@' (a "Mobile:" line, an email) or opening
# with a function word ("..., and then") ends the address.
_PIECE_START = (
    r"(?!(?:the|a|an|and|or|but|so|then|to|in|on|at|for|is|are|was|it|i|we|"
    r"you|he|she|they|please|thanks|thank|which|that|if|when)\b)"
)
_TOWN = (
    rf"{_PIECE_START}(?:{_WORD}[ \t]+){{0,2}}{_WORD}"
    r"(?:[ \t]+\d{1,6}(?:-\d{4})?)?(?:[ \t]+\([^()\n]{1,40}\))?"
)
_CODE = r"(?:\d{4,6}(?:-\d{4})?|[a-z]{1,2}\d[a-z\d]?[ \t]*\d[a-z]{2})"
_SEPARATOR = r"[ \t]*(?:,|\n)[ \t\n,]*(?:[?•*·-]{1,3}[ \t]+)?"
_TAIL = re.compile(
    rf"(?:{_SEPARATOR}(?:{_UNIT}|{_CODE}|{_TOWN})"
    rf"|[ \t]+(?:{_UNIT}|(?:{_WORD},?[ \t]+){{0,3}}[a-z]{{2,3}},?[ \t]+{_CODE}))"
    r"(?![\w:@])",
    re.IGNORECASE,
)
_MAX_PIECES = 6


class StreetAddressRecognizer(LocalRecognizer):
    """Finds a street address with what follows it: unit, town, state, postcode."""

    SCORE = 0.7

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["STREET_ADDRESS"], name="StreetAddressRecognizer"
        )

    def load(self) -> None:  # regular expressions only
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if "STREET_ADDRESS" not in entities:
            return []
        spans: list[tuple[int, int]] = []
        for match in _STREET.finditer(text):
            spans.append((match.start(), match.end()))
        for match in _LOOSE_STREET.finditer(text):
            if self._supported(text, match.start(), match.end()):
                spans.append((match.start(), match.end()))
        for match in _CORNER.finditer(text):
            spans.append((match.start(), match.end()))
        results = []
        for start, street_end in _merge(spans):
            end, _, _ = _extend(text, street_end)
            results.append(
                RecognizerResult(
                    "STREET_ADDRESS",
                    start,
                    end,
                    self.SCORE,
                    AnalysisExplanation(
                        recognizer=self.__class__.__name__,
                        original_score=self.SCORE,
                        textual_explanation="street with what follows it",
                    ),
                )
            )
        return results

    @staticmethod
    def _supported(text: str, start: int, end: int) -> bool:
        if _CUE_BEFORE.search(text[max(0, start - 40) : start]):
            return True
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip(" \t?•*·-"):
            return False
        tail_end, pieces, strong = _extend(text, end)
        return "\n" in text[end:tail_end] and (strong or pieces >= 2)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _extend(text: str, end: int) -> tuple[int, int, bool]:
    """Take the unit, town, state, country and postcode after a street.

    Returns the new end, how many pieces were taken, and whether one of them
    was a unit or a postcode.
    """
    pieces = 0
    strong = False
    for _ in range(_MAX_PIECES):
        piece = _TAIL.match(text, end)
        if piece is None:
            break
        strong = strong or bool(_UNIT_OR_CODE.search(piece.group()))
        pieces += 1
        end = piece.end()
    return end, pieces, strong


_UNIT_OR_CODE = re.compile(rf"{_UNIT}|{_CODE}", re.IGNORECASE)


def postcode_recognizer() -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="POSTCODE",
        name="PostcodeRecognizer",
        patterns=[
            Pattern(
                "state then postcode", r"\b(?:[a-z]{2,3})\s+\d{4,5}(?:-\d{4})?\b", 0.2
            ),
            Pattern("bare zip", r"\b\d{4,5}(?:-\d{4})?\b", 0.1),
            Pattern("uk postcode", r"\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b", 0.3),
        ],
        context=["zip", "zip code", "postcode", "postal", "post code"],
    )


_MONTHS = (
    "january|february|march|april|june|july|august|september|october|"
    "november|december|jan|feb|mar|apr|may|jun|jul|aug|sept|sep|oct|nov|dec"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+\d{{4}}|"
    rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)


# The lemma of "born" is "bear", which Presidio's context enhancer would need
# as the context word; the cue is looked for here instead.
_BIRTH_CUE = re.compile(
    r"\b(?:born|birth|dob|d\.o\.b|birthday|birthdate|bday)\b", re.IGNORECASE
)
_DATE_PATTERN = re.compile(rf"\b{_DATE}\b", re.IGNORECASE)


class DateOfBirthRecognizer(LocalRecognizer):
    """A date within a few words after "born", "date of birth", "DOB" or
    "birthday". A date alone is a delivery or a purchase, not a birth."""

    SCORE = 0.85

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["DATE_OF_BIRTH"], name="DateOfBirthRecognizer"
        )

    def load(self) -> None:  # regular expressions only
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if "DATE_OF_BIRTH" not in entities:
            return []
        return [
            RecognizerResult(
                "DATE_OF_BIRTH",
                match.start(),
                match.end(),
                self.SCORE,
                AnalysisExplanation(
                    recognizer=self.__class__.__name__,
                    original_score=self.SCORE,
                    textual_explanation="date after a birth cue",
                ),
            )
            for match in _DATE_PATTERN.finditer(text)
            if _BIRTH_CUE.search(text[max(0, match.start() - 30) : match.start()])
        ]
