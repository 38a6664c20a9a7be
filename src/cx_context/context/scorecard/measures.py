"""A scorecard figure: its value or "not enough data", how and from what it came."""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cx_context.context.errors import ContextError

NOT_ENOUGH_DATA = "not enough data"


class ScorecardQueryError(ContextError):
    """A scorecard filter or setting that cannot be read; names the parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass
class Measure:
    """A figure of the scorecard, or the reason there is none."""

    key: str
    title: str
    unit: str  # share, hours, seconds, score
    method: str
    value: float | None = None
    n: int = 0
    missing: str | None = None  # why there is no value
    excluded: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "ok" if self.value is not None else "not_enough_data"

    def exclude(self, reason: str, count: int = 1) -> None:
        self.excluded[reason] = self.excluded.get(reason, 0) + count

    def set(self, value: float | None, n: int, min_records: int, missing: str) -> None:
        """The value when at least `min_records` records support it, else why not."""
        self.n = n
        if value is None or n < min_records:
            self.value = None
            self.missing = (
                f"{NOT_ENOUGH_DATA}: {missing}"
                if n == 0
                else f"{NOT_ENOUGH_DATA}: {n} record(s), fewer than {min_records}"
            )
        else:
            self.value = round(value, 4)
            self.missing = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "value": self.value,
            "unit": self.unit,
            "n": self.n,
            "missing": self.missing,
            "method": self.method,
            "excluded": dict(sorted(self.excluded.items())),
            "details": self.details,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Period:
    """A half-open span of time [start, end) and the text it was read from."""

    label: str
    start: datetime
    end: datetime

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ScorecardQueryError(
            "period", f"{text!r} is not a date (YYYY-MM-DD)"
        ) from None


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_period(text: str) -> Period:
    """`2026-11` (a month), `2026-W45` (an ISO week), `2026-11-03` (a day), or
    `2026-11-01/2026-11-30` (both days included)."""
    text = text.strip()
    try:
        return _parse_period(text)
    except ScorecardQueryError:
        raise
    except (ValueError, OverflowError):
        # The end of the last month, week or day of year 9999, or year 0.
        raise ScorecardQueryError(
            "period", f"{text!r} reaches beyond the years 1 to 9999"
        ) from None


def _parse_period(text: str) -> Period:
    if month := _MONTH.match(text):
        year, number = int(month[1]), int(month[2])
        if not 1 <= number <= 12:
            raise ScorecardQueryError("period", f"month must be 01 to 12, got {text!r}")
        start = datetime(year, number, 1, tzinfo=UTC)
        end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
        return Period(text, start, end)
    if week := _WEEK.match(text):
        try:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            raise ScorecardQueryError("period", f"no such ISO week: {text!r}") from None
        return Period(text, _at(monday), _at(monday) + timedelta(days=7))
    if "/" in text:
        first, _, last = text.partition("/")
        start_day, end_day = _day(first), _day(last)
        if end_day < start_day:
            raise ScorecardQueryError("period", f"ends before it starts: {text!r}")
        return Period(text, _at(start_day), _at(end_day) + timedelta(days=1))
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        day = _day(text)
        return Period(text, _at(day), _at(day) + timedelta(days=1))
    raise ScorecardQueryError(
        "period",
        "expected YYYY-MM, YYYY-Www, YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD, "
        f"got {text!r}",
    )


def bucket_label(moment: datetime, bucket: str) -> str:
    """The trend bucket (`week` or `month`) a moment falls in, as a period text."""
    if bucket == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{moment.year}-{moment.month:02d}"
