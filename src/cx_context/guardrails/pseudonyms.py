"""Typed, numbered placeholders and the record of what each one replaced."""

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cx_context.guardrails.email_recognizers import written_out

# Entity types whose values are made of words that may be mentioned one at a time.
WORDWISE = frozenset({"PERSON", "LOCATION", "STREET_ADDRESS"})


def _normalize(entity_type: str, value: str) -> str:
    # A value in fullwidth forms is the same value, and "jo [at] mail dot com"
    # the same address as "jo@mail.com"; invisible characters are not word
    # characters and go with the punctuation.
    value = unicodedata.normalize("NFKC", value)
    if entity_type == "EMAIL_ADDRESS":
        value = written_out(value)
    if entity_type == "PHONE_NUMBER":
        return re.sub(r"\D", "", value)
    return re.sub(r"[\W_]+", "", value.casefold())


@dataclass
class PseudonymMap:
    """Gives each distinct value a numbered placeholder of its type within one scope.

    One map is used for one interaction, so `<PERSON_1>` is the same person in
    every turn of it. The values themselves are held only in memory.
    """

    _assigned: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: Counter[str] = field(default_factory=Counter)
    _words: dict[tuple[str, frozenset[str]], str] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        key = (entity_type, _normalize(entity_type, value))
        if key not in self._assigned:
            placeholder = self._same_as_earlier(entity_type, value) or self._new(
                entity_type
            )
            self._assigned[key] = placeholder
            if entity_type in WORDWISE:
                words = frozenset(re.findall(r"\w+", value.casefold()))
                self._words.setdefault((entity_type, words), placeholder)
        return self._assigned[key]

    def _new(self, entity_type: str) -> str:
        self._counts[entity_type] += 1
        return f"<{entity_type}_{self._counts[entity_type]}>"

    def _same_as_earlier(self, entity_type: str, value: str) -> str | None:
        # "Crystal" after "Crystal Minh" is the same person: a value whose
        # words all belong to one earlier value of its type gets its placeholder.
        if entity_type not in WORDWISE:
            return None
        words = set(re.findall(r"\w+", value.casefold()))
        matches = {
            placeholder
            for (earlier_type, earlier), placeholder in self._words.items()
            if earlier_type == entity_type and words and words <= earlier
        }
        return matches.pop() if len(matches) == 1 else None


@dataclass(frozen=True)
class DetectedSpan:
    """Where a value of personal data sits in the original text: [start, end)."""

    start: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class Replacement:
    """One value taken out: where its placeholder sits in the redacted text.

    The original value lives only in memory (and, encrypted, in a vault); it
    is never logged or stored in the clear.
    """

    entity_type: str
    placeholder: str
    original: str = field(repr=False)
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """A redacted text and how many values of each entity type it lost."""

    text: str
    entity_counts: dict[str, int]
    replacements: tuple[Replacement, ...] = ()

    @property
    def entity_types(self) -> list[str]:
        return sorted(self.entity_counts)


def replace_spans(
    text: str, spans: Sequence[DetectedSpan], pseudonyms: PseudonymMap
) -> Redaction:
    """Put a placeholder where each (non-overlapping, sorted) span was."""
    if not spans:
        return Redaction(text=text, entity_counts={})
    # Placeholders are numbered in reading order, then replaced from the end so
    # that earlier offsets stay valid.
    placeholders = [
        pseudonyms.placeholder(span.entity_type, text[span.start : span.end])
        for span in spans
    ]
    redacted = text
    for span, placeholder in zip(reversed(spans), reversed(placeholders), strict=True):
        redacted = redacted[: span.start] + placeholder + redacted[span.end :]
    # Offsets of each placeholder in the redacted text, in reading order.
    replacements = []
    shift = 0
    for span, placeholder in zip(spans, placeholders, strict=True):
        start = span.start + shift
        replacements.append(
            Replacement(
                entity_type=span.entity_type,
                placeholder=placeholder,
                original=text[span.start : span.end],
                start=start,
                end=start + len(placeholder),
            )
        )
        shift += len(placeholder) - (span.end - span.start)
    counts = Counter(span.entity_type for span in spans)
    return Redaction(
        text=redacted, entity_counts=dict(counts), replacements=tuple(replacements)
    )
