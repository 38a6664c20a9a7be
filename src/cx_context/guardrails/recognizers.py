"""Pattern recognizers for identifiers customers type in service conversations.

Presidio's predefined recognizers cover emails, card numbers and the like, but
not the order numbers, usernames, account ids and street addresses that fill
contact-centre transcripts. Patterns with a weak shape score below the
redaction threshold on their own and rely on context words ("order",
"username") to be raised above it.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from presidio_analyzer import Pattern, PatternRecognizer

STREET_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|terrace|tce|"
    "parade|pde|highway|hwy|crescent|cres|parkway|pkwy"
)

# "6821 1st ave", "9756 Primrose Street Newark, MI 85971",
# "12 Harbour St, Pyrmont NSW 2009".
# The number, up to four street-name words and a street suffix; then optionally
# a town, a state or territory abbreviation and a postcode. Function words
# cannot be part of a street name, which keeps "2 items in the way" out.
_NOT_FUNCTION_WORD = (
    r"(?!(?:the|a|an|of|to|in|on|at|my|your|our|for|and|or|is|are|was)\b)"
)
STREET_ADDRESS = (
    r"\b\d{1,6}[a-z]?\s+(?:" + _NOT_FUNCTION_WORD + r"[a-z0-9'.-]+\s+){0,4}?"
    r"(?:" + STREET_SUFFIXES + r")\b\.?"
    r"(?:,?\s+(?:[a-z]+,?\s+){0,3}?[a-z]{2,3},?\s+\d{4,5}(?:-\d{4})?\b)?"
)


def order_id_recognizer() -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="ORDER_ID",
        name="OrderIdRecognizer",
        patterns=[Pattern("order number", r"\b\d{6,12}\b", 0.3)],
        context=["order", "order id", "order number", "purchase", "reference", "ref"],
    )


def username_recognizer() -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="USERNAME",
        name="UsernameRecognizer",
        patterns=[
            # Letters followed by digits ("cminh730"), the common shape of
            # generated usernames; too weak to redact without context.
            Pattern("letters then digits", r"\b[a-z][a-z._-]{1,30}\d{1,6}\b", 0.35),
        ],
        context=["username", "user name", "user", "login", "handle", "user id"],
    )


def account_id_recognizer() -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="ACCOUNT_ID",
        name="AccountIdRecognizer",
        patterns=[
            # Ten mixed letters and digits ("xjiw8ufp3b").
            Pattern(
                "mixed alphanumeric id",
                r"\b(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{8,12}\b",
                0.3,
            ),
        ],
        context=["account", "account id", "acct", "customer id", "membership"],
    )


def street_address_recognizer() -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[Pattern("number, words, street suffix", STREET_ADDRESS, 0.6)],
        context=["address", "live", "ship", "deliver", "send", "mail", "moved"],
    )


def postcode_recognizer() -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="POSTCODE",
        name="PostcodeRecognizer",
        patterns=[
            Pattern(
                "state then postcode", r"\b(?:[a-z]{2,3})\s+\d{4,5}(?:-\d{4})?\b", 0.2
            ),
            Pattern("bare zip", r"\b\d{5}(?:-\d{4})?\b", 0.1),
        ],
        context=["zip", "zip code", "postcode", "postal", "post code"],
    )


def conversation_recognizers() -> list[PatternRecognizer]:
    """The recognizers added to Presidio's predefined set."""
    return [
        order_id_recognizer(),
        username_recognizer(),
        account_id_recognizer(),
        street_address_recognizer(),
        postcode_recognizer(),
    ]


@dataclass(frozen=True)
class KnownValue:
    """A value known to belong to the customer of a text, and its entity type."""

    entity_type: str
    value: str


def _value_pattern(value: str, digits_only: bool) -> str | None:
    if digits_only:
        digits = re.sub(r"\D", "", value)
        if len(digits) < 4:
            return None
        # Any punctuation or spacing may sit between the digits of a phone number.
        return r"(?<!\d)" + r"[\s().+-]*".join(digits) + r"(?!\d)"
    words = value.split()
    if not words or len("".join(words)) < 3:
        return None
    body = r"[\s,]+".join(re.escape(word) for word in words)
    return r"(?<![\w@])" + body + r"(?![\w@])"


def known_value_recognizers(values: Iterable[KnownValue]) -> list[PatternRecognizer]:
    """Recognizers that always find the given values, whatever the model says.

    Phone numbers match on their digits whatever the separators. Multi-word
    values (names, addresses) also match each word of four or more letters on
    its own, so "Crystal" is found once "Crystal Minh" is known.
    """
    patterns: dict[str, list[Pattern]] = {}
    for known in values:
        value = known.value.strip()
        if not value:
            continue
        digits_only = known.entity_type == "PHONE_NUMBER"
        candidates = [value]
        if known.entity_type in {"PERSON", "LOCATION", "STREET_ADDRESS"}:
            candidates += [word for word in value.split() if len(word) >= 4]
        for candidate in candidates:
            regex = _value_pattern(candidate, digits_only)
            if regex is not None:
                patterns.setdefault(known.entity_type, []).append(
                    Pattern(f"known {known.entity_type.lower()}", regex, 1.0)
                )
    return [
        PatternRecognizer(
            supported_entity=entity_type,
            name=f"KnownValue{entity_type.title().replace('_', '')}Recognizer",
            patterns=entity_patterns,
        )
        for entity_type, entity_patterns in patterns.items()
    ]


def entity_types(recognizers: Sequence[PatternRecognizer]) -> set[str]:
    return {
        entity for recognizer in recognizers for entity in recognizer.supported_entities
    }
