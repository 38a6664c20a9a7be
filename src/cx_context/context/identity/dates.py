"""Readings of a spoken date of birth: "27th of the 9th 1979", "eighty two".

Each reading is a `PartialDate`, since callers often give only part of a date
and the recogniser loses parts of others; the resolver counts how many parts
of a reading agree with a profile's date of birth.
"""

import datetime as dt
import re
from dataclasses import dataclass

from cx_context.context.identity.spoken import MAX_READINGS, tokens


@dataclass(frozen=True)
class PartialDate:
    """A date of birth as heard: any of its day, month and year may be missing."""

    day: int | None
    month: int | None
    year: int | None

    def matches(self, dob: dt.date) -> int:
        """How many of its parts (day, month, year) agree with `dob`."""
        return (
            (self.day == dob.day) + (self.month == dob.month) + (self.year == dob.year)
        )


_MONTH_NAMES = {dt.date(2000, n, 1).strftime("%B").lower(): n for n in range(1, 13)} | {
    dt.date(2000, n, 1).strftime("%b").lower(): n for n in range(1, 13)
}
_MONTH_NAMES |= {"sept": 9}
_UNITS = {
    "one": 1,
    "first": 1,
    "two": 2,
    "second": 2,
    "three": 3,
    "third": 3,
    "four": 4,
    "fourth": 4,
    "five": 5,
    "fifth": 5,
    "six": 6,
    "sixth": 6,
    "seven": 7,
    "seventh": 7,
    "eight": 8,
    "eighth": 8,
    "nine": 9,
    "ninth": 9,
}
_TEENS = {
    "ten": 10,
    "tenth": 10,
    "eleven": 11,
    "eleventh": 11,
    "twelve": 12,
    "twelfth": 12,
    "thirteen": 13,
    "thirteenth": 13,
    "fourteen": 14,
    "fourteenth": 14,
    "fifteen": 15,
    "fifteenth": 15,
    "sixteen": 16,
    "sixteenth": 16,
    "seventeen": 17,
    "seventeenth": 17,
    "eighteen": 18,
    "eighteenth": 18,
    "nineteen": 19,
    "nineteenth": 19,
}
_TENS = {
    "twenty": 20,
    "twentieth": 20,
    "thirty": 30,
    "thirtieth": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINAL_SUFFIX = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
# A written date with the year first (ISO 8601, "1975/06/15"): always Y-M-D.
_YEAR_FIRST = re.compile(r"^\s*(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\s*$")


def dob_readings(text: str, today: dt.date | None = None) -> list[PartialDate]:
    """Dates of birth a spoken answer may mean, most complete first.

    "27th of the 9th 1979" -> 1979-09-27; "the third of march eighty two" ->
    1982-03-03; "07041 996" -> 1996-04-07; "25th December" -> day and month
    only; "1975-06-15" -> 1975-06-15. Day-month-year order is assumed unless a
    month is named or the date is written year first.
    """
    today = today or dt.date.today()
    if written := _YEAR_FIRST.match(text):
        year, _, month, day = written.groups()
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31 and _year(year, today):
            return [PartialDate(int(day), int(month), int(year))]
    numbers, month = _numbers_and_month(text)
    readings: list[PartialDate] = []
    if month is not None:
        readings.extend(_with_named_month(numbers, month, today))
    else:
        readings.extend(_from_numbers(numbers, today))
        digits = "".join(numbers)
        if 6 <= len(digits) <= 9:
            readings.extend(_from_digit_run(digits, today))
        # "04 11" is the 4th of November in the UK, but some callers say it
        # the American way round.
        readings.extend(
            PartialDate(r.month, r.day, r.year)
            for r in list(readings)
            if r.day is not None and r.month is not None and r.day <= 12
        )
    readings.extend(_teen_confusions(readings))
    return list(dict.fromkeys(readings))[:MAX_READINGS]


def _teen_confusions(readings: list[PartialDate]) -> list[PartialDate]:
    """The recogniser hears "nineteen sixteen" as 1960: offer 1916 as well."""
    confused = []
    for reading in readings:
        year = reading.year
        if year is not None and year % 10 == 0 and 1930 <= year <= 1990:
            teen = 1900 + 10 + (year - 1900) // 10
            confused.append(PartialDate(reading.day, reading.month, teen))
    return confused


def _numbers_and_month(text: str) -> tuple[list[str], int | None]:
    """Numbers (as digit strings) and the named month in a spoken date."""
    words = tokens(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1 \2", text.lower()))
    numbers: list[str] = []
    month: int | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in _MONTH_NAMES and month is None and not (word == "may" and i == 0):
            month = _MONTH_NAMES[word]
        elif word.isdigit():
            numbers.append(word)
        elif word in ("oh", "o") and i + 1 < len(words) and len(words[i + 1]) == 1:
            if words[i + 1].isdigit():
                numbers.append("0" + words[i + 1])
                i += 2
                continue
        elif word in _TENS or word in _TEENS or word in _UNITS:
            value, i = _word_number(words, i)
            numbers.append(value)
            continue
        elif word == "thousand" and numbers:
            numbers[-1] = str(int(numbers[-1]) * 1000)
        i += 1
    return _join_years(numbers), month


def _word_number(words: list[str], i: int) -> tuple[str, int]:
    """One number said in words from position i ("twenty seven", "ninth")."""
    word = words[i]
    if word in _TENS:
        value = _TENS[word]
        if i + 1 < len(words) and words[i + 1] in _UNITS:
            return str(value + _UNITS[words[i + 1]]), i + 2
        return str(value), i + 1
    if word in _TEENS:
        return str(_TEENS[word]), i + 1
    return str(_UNITS[word]), i + 1


def _join_years(numbers: list[str]) -> list[str]:
    """Join "19", "79" into "1979" and "2000", "1" into "2001"."""
    joined: list[str] = []
    for number in numbers:
        if joined and joined[-1] in ("19", "20") and len(number) == 2:
            joined[-1] += number
        elif joined and joined[-1] in ("19", "20") and number == "0":
            joined[-1] += "0"
        elif joined and len(number) == 1 and re.fullmatch(r"(19|20)\d0", joined[-1]):
            joined[-1] = joined[-1][:3] + number
        elif joined and joined[-1] == "2000" and len(number) <= 2:
            joined[-1] = str(2000 + int(number))
        else:
            joined.append(number)
    return joined


def _year(value: str, today: dt.date) -> list[int]:
    number = int(value)
    if len(value) == 4 and 1900 <= number <= today.year:
        return [number]
    if len(value) == 2:
        years = [1900 + number]
        if 2000 + number <= today.year:
            years.append(2000 + number)
        return years
    return []


def _with_named_month(
    numbers: list[str], month: int, today: dt.date
) -> list[PartialDate]:
    days = [int(n) for n in numbers if len(n) <= 2 and 1 <= int(n) <= 31]
    years = [y for n in numbers for y in _year(n, today) if len(n) == 4]
    if not years:
        years = [y for n in numbers[1:] for y in _year(n, today)]
    day = days[0] if days else None
    if not years:
        return [PartialDate(day, month, None)]
    return [PartialDate(day, month, year) for year in years]


def _from_numbers(numbers: list[str], today: dt.date) -> list[PartialDate]:
    """Day, month and year from separately said numbers ("18 5 1946")."""
    small = [int(n) for n in numbers if len(n) <= 2]
    years = [y for n in numbers if len(n) == 4 for y in _year(n, today)]
    if len(small) >= 3 and not years:
        years = _year(numbers[2].zfill(2)[-2:], today)
    day = small[0] if small and 1 <= small[0] <= 31 else None
    month = small[1] if len(small) > 1 and 1 <= small[1] <= 12 else None
    if month is None and len(small) > 1 and small[0] <= 12 < small[1] <= 31:
        # "1975 6 15": year first (or American order), so month before day.
        day, month = small[1], small[0]
    if day is None and month is None and not years:
        return []
    return [PartialDate(day, month, year) for year in years] or [
        PartialDate(day, month, None)
    ]


def _from_digit_run(digits: str, today: dt.date) -> list[PartialDate]:
    """Splits of a run of digits into day, month and year ("07041996")."""
    readings: list[PartialDate] = []
    for year_len in (4, 2):
        head, tail = digits[:-year_len], digits[-year_len:]
        for day_len in (1, 2):
            day_text, month_text = head[:day_len], head[day_len:]
            if not 1 <= len(month_text) <= 2:
                continue
            day, month = int(day_text), int(month_text)
            if not (1 <= day <= 31 and 1 <= month <= 12):
                continue
            readings.extend(PartialDate(day, month, y) for y in _year(tail, today))
    # "19750615", as ISO 8601 writes a date without separators.
    if len(digits) == 8:
        year, month, day = _year(digits[:4], today), int(digits[4:6]), int(digits[6:])
        if 1 <= month <= 12 and 1 <= day <= 31:
            readings.extend(PartialDate(day, month, y) for y in year)
    return readings
