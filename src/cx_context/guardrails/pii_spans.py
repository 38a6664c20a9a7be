"""Cleaning detector results into spans: what is implausible, what is longer.

The small NER model and the broad patterns make mistakes of a few known
shapes; these rules drop them before Presidio's overlap resolution, and
extend names over the suffixes and initials the model leaves out.
"""

import re
from collections.abc import Sequence

from presidio_analyzer import RecognizerResult

from cx_context.guardrails.email_recognizers import local_part
from cx_context.guardrails.pseudonyms import DetectedSpan
from cx_context.guardrails.recognizers import KnownValue

NER_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION"})

# Entity types whose words, once found, are looked for across the whole scope.
PROPAGATED_WORDS = frozenset({"PERSON", "LOCATION", "STREET_ADDRESS"})

# Product codes, amounts, handles: a name holds none of these.
_NOT_IN_NAMES = re.compile(r"[\d_$€£@/#%=+*<>]")
# "12", "3184920", "0412 555": digits the model calls dates; a year stays one.
_DIGITS_ONLY = re.compile(r"[\d\s]+")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_NAME_TAIL = re.compile(
    r",?[ \t]+(?:[JjSs]r\b\.?|II\b|III\b|IV\b|MD\b|PhD\b)"
    r"|[ \t]+[A-Z]\.[ \t]+[A-Z][\w'’-]+"
)


def plausible(text: str, result: RecognizerResult) -> bool:
    """False for a result of a shape that is known not to be personal data."""
    value = text[result.start : result.end]
    if not value.strip():
        return False
    if result.entity_type in NER_ENTITIES and result.score < 1.0:
        if _NOT_IN_NAMES.search(value):
            return False
        # "UK", "NSW", "USA": a country or state on its own identifies nobody.
        if result.entity_type == "LOCATION" and len(value) <= 3 and value.isupper():
            return False
        # A lone short token in capitals is a code ("SKU", "XL"), not a person.
        if result.entity_type == "PERSON" and len(value) <= 3 and value.isupper():
            return False
    if result.entity_type == "DATE_TIME" and _DIGITS_ONLY.fullmatch(value):
        return bool(_YEAR.fullmatch(value.strip()))
    return True


def trim_and_extend(text: str, results: list[RecognizerResult]) -> None:
    """Trim spaces off results; take "Jr." or "K. Whitfield" into a name."""
    for result in results:
        value = text[result.start : result.end]
        result.start += len(value) - len(value.lstrip())
        result.end -= len(value) - len(value.rstrip())
        if result.entity_type != "PERSON":
            continue
        tail = _NAME_TAIL.match(text, result.end)
        if tail:
            result.end = tail.end()


def harvest(
    texts: Sequence[str],
    spans: Sequence[Sequence[DetectedSpan]],
    entities: frozenset[str],
) -> list[KnownValue]:
    """Values found in one text of a scope, to be looked for in all of them."""
    found: dict[tuple[str, str], KnownValue] = {}
    for text, text_spans in zip(texts, spans, strict=True):
        for span in text_spans:
            value = text[span.start : span.end]
            if len(value) >= 3:
                found[(span.entity_type, value.casefold())] = KnownValue(
                    span.entity_type, value
                )
            if span.entity_type == "EMAIL_ADDRESS" and "USERNAME" in entities:
                local = local_part(value)
                if len(local) >= 4:
                    found[("USERNAME", local.casefold())] = KnownValue(
                        "USERNAME", local
                    )
    # Single words are matched by known_value_recognizers for these types.
    return [
        value
        for (entity_type, _), value in found.items()
        if entity_type in PROPAGATED_WORDS or entity_type in entities
    ]
