"""Numbers, dates, durations and amounts stated in content, for finding conflicts.

Values are normalised so that "30 days" and "one month" agree and "14 days"
and "2 weeks" agree; an amount keeps its currency, a percentage its sign.
"""

import re
from dataclasses import dataclass

_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "sixty": 60,
    "ninety": 90,
    "a": 1,
    "an": 1,
}
_NUMBER = r"\d+(?:[.,]\d+)*"
_COUNT = rf"(?:{_NUMBER}|{'|'.join(sorted(_WORDS, key=len, reverse=True))})"
# Days each unit stands for; business days are kept apart from calendar days.
_UNIT_DAYS = {
    "minute": 1 / 1440,
    "hour": 1 / 24,
    "day": 1.0,
    "week": 7.0,
    "fortnight": 14.0,
    "month": 30.0,
    "year": 365.0,
}
_DURATION = re.compile(
    rf"\b(?P<n>{_COUNT})[\s-]+(?P<kind>business |working |calendar )?"
    r"(?P<unit>minute|hour|day|week|fortnight|month|year)s?\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    rf"(?P<cur>[$€£])\s?(?P<n>{_NUMBER})"
    rf"|\b(?P<n2>{_NUMBER})\s?(?P<cur2>dollars|euros|pounds|usd|eur|gbp|aud)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"\b(?P<n>{_NUMBER})\s?(?:%|percent\b)", re.IGNORECASE)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|"
    "november|december"
)
_DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}"
    rf"|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})(?:,?\s+\d{{4}})?)\b",
    re.IGNORECASE,
)
_BARE = re.compile(rf"\b(?P<n>{_NUMBER})\s+(?P<unit>[a-z]{{3,}})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    kind: str  # "duration", "amount", "percentage", "date" or "number"
    unit: str  # days, business days, a currency, a following noun
    value: float | str
    text: str  # as written


def _number(text: str) -> float:
    text = text.lower()
    if text in _WORDS:
        return float(_WORDS[text])
    return float(text.replace(",", ""))


def quantities(sentence: str) -> list[Quantity]:
    """Every quantity the sentence states, in order; overlaps go to the first kind."""
    return [q for _, _, q in _spans(sentence)]


def _spans(sentence: str) -> list[tuple[int, int, Quantity]]:
    found: list[tuple[int, int, Quantity]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in found)

    for m in _DURATION.finditer(sentence):
        kind = (m.group("kind") or "").strip().lower()
        unit = "business days" if kind in {"business", "working"} else "days"
        days = _number(m.group("n")) * _UNIT_DAYS[m.group("unit").lower()]
        found.append(
            (m.start(), m.end(), Quantity("duration", unit, round(days, 4), m[0]))
        )
    for m in _MONEY.finditer(sentence):
        if free(m.start(), m.end()):
            currency = (m.group("cur") or m.group("cur2") or "").lower()
            currency = {"dollars": "$", "usd": "$", "aud": "$", "euros": "€"}.get(
                currency,
                {"eur": "€", "pounds": "£", "gbp": "£"}.get(currency, currency),
            )
            value = _number(m.group("n") or m.group("n2"))
            found.append(
                (m.start(), m.end(), Quantity("amount", currency, value, m[0]))
            )
    for m in _PERCENT.finditer(sentence):
        if free(m.start(), m.end()):
            found.append(
                (m.start(), m.end(), Quantity("percentage", "%", _number(m["n"]), m[0]))
            )
    for m in _DATE.finditer(sentence):
        if free(m.start(), m.end()):
            text = " ".join(m[0].lower().split())
            found.append((m.start(), m.end(), Quantity("date", "date", text, m[0])))
    for m in _BARE.finditer(sentence):
        if free(m.start(), m.end()):
            unit = m.group("unit").lower().rstrip("s")
            found.append(
                (m.start(), m.end(), Quantity("number", unit, _number(m["n"]), m[0]))
            )
    found.sort(key=lambda item: item[0])
    return found


def mask_quantities(sentence: str) -> str:
    """The sentence with every stated quantity replaced by one placeholder word."""
    for start, end, _ in reversed(_spans(sentence)):
        sentence = f"{sentence[:start]}N{sentence[end:]}"
    return sentence
