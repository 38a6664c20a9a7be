"""The recognizers added to Presidio's predefined set for service conversations.

Presidio's predefined recognizers cover emails, card numbers and the like, but
not the order numbers, usernames, account ids, street addresses and the
regional phone formats that fill contact-centre transcripts, and its email
recognizer drops addresses on private domains. Patterns with a
weak shape score below the redaction threshold on their own and rely on
context words ("order", "username") to be raised above it. Recognizers are
kept in modules by concept: addresses, phones, names; identifiers and known
values live here.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    AuAbnRecognizer,
    AuAcnRecognizer,
    AuMedicareRecognizer,
    AuTfnRecognizer,
)

from cx_context.guardrails.address_recognizers import (
    DateOfBirthRecognizer,
    StreetAddressRecognizer,
    postcode_recognizer,
)
from cx_context.guardrails.email_recognizers import (
    ConversationEmailRecognizer,
    ObfuscatedEmailRecognizer,
)
from cx_context.guardrails.name_recognizers import (
    IntroducedNameRecognizer,
    TitledNameRecognizer,
    UnfamiliarNameRecognizer,
)
from cx_context.guardrails.phone_recognizers import ConversationPhoneRecognizer
from cx_context.guardrails.pii_config import IdPattern, PiiConfig

__all__ = [
    "IntroducedNameRecognizer",
    "KnownValue",
    "conversation_recognizers",
    "entity_types",
    "id_recognizers",
    "known_value_recognizers",
]


def id_recognizers(patterns: Sequence[IdPattern]) -> list[PatternRecognizer]:
    """One recognizer per configured identifier shape, with its context words."""
    return [
        PatternRecognizer(
            supported_entity=pattern.entity_type,
            name=f"IdRecognizer[{pattern.name}]",
            patterns=[Pattern(pattern.name, pattern.regex, pattern.score)],
            context=list(pattern.context),
        )
        for pattern in patterns
    ]


def conversation_recognizers(
    config: PiiConfig, known_words: frozenset[str]
) -> list[EntityRecognizer]:
    """The recognizers added to Presidio's predefined set (whose phone and
    email recognizers they replace)."""
    return [
        *id_recognizers(config.id_patterns),
        ConversationEmailRecognizer(),
        ObfuscatedEmailRecognizer(known_words),
        StreetAddressRecognizer(),
        postcode_recognizer(),
        DateOfBirthRecognizer(),
        ConversationPhoneRecognizer(config.phone_regions),
        IntroducedNameRecognizer(known_words),
        TitledNameRecognizer(),
        UnfamiliarNameRecognizer(known_words),
        # Shipped by Presidio, not enabled by default.
        AuAbnRecognizer(),
        AuAcnRecognizer(),
        AuTfnRecognizer(),
        AuMedicareRecognizer(),
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
        # Any punctuation or spacing may sit between the digits of a phone
        # number, and a country code may come before them.
        body = r"[\s().+-]*".join(digits)
        return r"(?<![\d+])(?:\+?\d{1,3}[\s.-]*)?" + body + r"(?!\d)"
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
