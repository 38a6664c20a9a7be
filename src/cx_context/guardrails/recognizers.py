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


# "my name is", "this is", "I'm" ... followed by a name. Strong cues admit any
# run of up to three content words; weak ones ("this is", "I'm") only a run
# that the tagger calls a proper noun or that holds a word English does not
# know, so "this is ridiculous" and "I'm calling" stay.
_STRONG_CUE = re.compile(
    r"\b(?:my name is|my name's|name is|name's|call me|name:)\s+", re.IGNORECASE
)
_WEAK_CUE = re.compile(
    r"\b(?:this is|it's|it is|i'm|i am|im|here is|speaking with|you're talking to)\s+"
    r"(?:(?:mr|mrs|ms|miss|dr)\.?\s+)?",
    re.IGNORECASE,
)
_NAME_POS = {"PROPN", "NOUN", "ADJ", "ADV", "X", "VERB"}
_NOT_NAMES = {
    "here",
    "there",
    "back",
    "again",
    "calling",
    "writing",
    "trying",
    "looking",
    "still",
    "just",
    "really",
    "very",
    "so",
    "not",
    "sorry",
    "fine",
    "good",
    "happy",
    "glad",
    "customer",
    "member",
    "agent",
    "manager",
    "order",
    "account",
    "regarding",
    "about",
}


class IntroducedNameRecognizer(LocalRecognizer):
    """Finds the name in a self-introduction, in any letter case.

    The small NER model misses lower-case and unfamiliar names ("this is
    crystal minh"), which is how customers type. This recognizer reads the
    tokens after an introduction cue, using the tagger's parts of speech and a
    list of known English words (from the spaCy model's lemmatizer tables).
    """

    def __init__(self, known_words: frozenset[str]) -> None:
        super().__init__(supported_entities=["PERSON"], name="IntroducedNameRecognizer")
        self._known = known_words

    def load(self) -> None:  # nothing to load: the tokens come from the NLP engine
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if (
            "PERSON" not in entities
            or nlp_artifacts is None
            or nlp_artifacts.tokens is None
        ):
            return []
        doc = nlp_artifacts.tokens
        results: list[RecognizerResult] = []
        for cue, strong in ((_STRONG_CUE, True), (_WEAK_CUE, False)):
            for match in cue.finditer(text):
                run: list[Any] = []
                for token in doc:
                    if token.idx < match.end():
                        continue
                    word = token.text.casefold()
                    name_like = (
                        token.is_alpha
                        and not token.is_stop
                        and token.pos_ in _NAME_POS
                        and word not in _NOT_NAMES
                    ) or (
                        run and re.fullmatch(r"[A-Za-z]\.?|jr\.?|sr\.?|ii|iii|iv", word)
                    )
                    if not name_like or len(run) == 4:
                        break
                    run.append(token)
                if not run:
                    continue
                unknown = any(t.text.casefold() not in self._known for t in run)
                proper = any(t.pos_ == "PROPN" for t in run)
                if strong or proper or unknown:
                    start, end = run[0].idx, run[-1].idx + len(run[-1].text)
                    score = 0.75 if strong else 0.6
                    results.append(
                        RecognizerResult(
                            "PERSON", start, end, score, self._explain(score)
                        )
                    )
        return results

    def _explain(self, score: float) -> AnalysisExplanation:
        return AnalysisExplanation(
            recognizer="IntroducedNameRecognizer",
            original_score=score,
            textual_explanation="name after a self-introduction cue",
        )
