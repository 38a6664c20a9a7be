"""PII detection and redaction with Presidio, with consistent typed placeholders."""

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from presidio_analyzer import (
    AnalyzerEngine,
    BatchAnalyzerEngine,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

from cx_context.guardrails.errors import RedactionError
from cx_context.guardrails.recognizers import (
    IntroducedNameRecognizer,
    KnownValue,
    conversation_recognizers,
    known_value_recognizers,
)

logger = logging.getLogger(__name__)

# Identifiers that are personal data wherever they appear.
STRUCTURED_ENTITIES = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
        "US_SSN",
        "US_PASSPORT",
        "US_ITIN",
        "UK_NHS",
        "CRYPTO",
        "MEDICAL_LICENSE",
    }
)


# spaCy's OntoNotes labels that can name a person or place; the rest (amounts,
# ordinals, products, events) are not personal data and are not reported.
_SPACY_TO_PRESIDIO = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
_SPACY_IGNORED = [
    "CARDINAL",
    "ORDINAL",
    "MONEY",
    "QUANTITY",
    "PERCENT",
    "PRODUCT",
    "EVENT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
]


@dataclass(frozen=True)
class RedactionPolicy:
    """Which entity types are removed, and how sure the detector must be."""

    name: str
    entities: frozenset[str]
    score_threshold: float = 0.4


# What customers write: names, places and the identifiers of the retail and
# banking trade. Dates and organisations stay, because summaries need them.
CONVERSATION_POLICY = RedactionPolicy(
    name="conversation",
    entities=STRUCTURED_ENTITIES
    | {"PERSON", "LOCATION", "ORDER_ID", "USERNAME", "ACCOUNT_ID"}
    | {"STREET_ADDRESS", "POSTCODE"},
)

# What the organisation writes (policies, FAQs): only structured identifiers.
# The small NER model tags headings such as "Email Address" or "Record Reason"
# as people, so names are not removed from authored content.
CONTENT_POLICY = RedactionPolicy(name="content", entities=STRUCTURED_ENTITIES)


# Entity types whose values are made of words that may be mentioned one at a time.
_WORDWISE = {"PERSON", "LOCATION", "STREET_ADDRESS"}


def _normalize(entity_type: str, value: str) -> str:
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
            if entity_type in _WORDWISE:
                words = frozenset(re.findall(r"\w+", value.casefold()))
                self._words.setdefault((entity_type, words), placeholder)
        return self._assigned[key]

    def _new(self, entity_type: str) -> str:
        self._counts[entity_type] += 1
        return f"<{entity_type}_{self._counts[entity_type]}>"

    def _same_as_earlier(self, entity_type: str, value: str) -> str | None:
        # "Crystal" after "Crystal Minh" is the same person: a value whose
        # words all belong to one earlier value of its type gets its placeholder.
        if entity_type not in _WORDWISE:
            return None
        words = set(re.findall(r"\w+", value.casefold()))
        matches = {
            placeholder
            for (earlier_type, earlier), placeholder in self._words.items()
            if earlier_type == entity_type and words and words <= earlier
        }
        return matches.pop() if len(matches) == 1 else None


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


def _known_words(nlp_engine: Any) -> frozenset[str]:
    """English words the spaCy model's lemmatizer knows (about 90,000)."""
    try:
        lemmatizer = nlp_engine.nlp["en"].get_pipe("lemmatizer")
        index = lemmatizer.lookups.get_table("lemma_index")
    except (KeyError, AttributeError, ValueError):
        logger.warning(
            "the spaCy model has no lemma index; introduced names need a cue"
        )
        return frozenset()
    return frozenset(word for words in index.values() for word in words)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    entity_type: str


class PiiRedactor:
    """Finds personal data with Presidio and replaces it with typed placeholders.

    Redaction fails closed: if analysis raises, a `RedactionError` is raised and
    no text is returned.
    """

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        anonymizer: AnonymizerEngine | None = None,
        language: str = "en",
        batch_size: int = 64,
    ) -> None:
        self._analyzer = analyzer
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        self._anonymizer = anonymizer or AnonymizerEngine()  # type: ignore[no-untyped-call]
        self._language = language
        self._batch_size = batch_size

    @classmethod
    def from_spacy_model(cls, model_name: str, **kwargs: int | str) -> "PiiRedactor":
        """Build a redactor on an installed spaCy model; nothing is downloaded."""
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": model_name}],
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": _SPACY_TO_PRESIDIO,
                    "labels_to_ignore": _SPACY_IGNORED,
                },
            }
        )
        nlp_engine = provider.create_engine()
        registry = RecognizerRegistry(supported_languages=["en"])
        # Presidio warns about every recognizer of another language it skips.
        presidio_logger = logging.getLogger("presidio-analyzer")
        level = presidio_logger.level
        presidio_logger.setLevel(logging.ERROR)
        try:
            registry.load_predefined_recognizers(
                nlp_engine=nlp_engine, languages=["en"]
            )
        finally:
            presidio_logger.setLevel(level)
        for recognizer in conversation_recognizers():
            registry.add_recognizer(recognizer)
        registry.add_recognizer(IntroducedNameRecognizer(_known_words(nlp_engine)))
        analyzer = AnalyzerEngine(
            nlp_engine=nlp_engine, registry=registry, supported_languages=["en"]
        )
        logger.info("PII analyzer ready with spaCy model %s", model_name)
        return cls(analyzer, **kwargs)  # type: ignore[arg-type]

    def redact(
        self,
        text: str,
        policy: RedactionPolicy = CONVERSATION_POLICY,
        pseudonyms: PseudonymMap | None = None,
        known: Sequence[KnownValue] = (),
    ) -> Redaction:
        return self.redact_many([text], policy, pseudonyms, known)[0]

    def redact_many(
        self,
        texts: Sequence[str],
        policy: RedactionPolicy = CONVERSATION_POLICY,
        pseudonyms: PseudonymMap | None = None,
        known: Sequence[KnownValue] = (),
    ) -> list[Redaction]:
        """Redact texts that share one pseudonym scope, analysed in one spaCy batch.

        A value found once is removed everywhere in the scope: when "Crystal
        Minh" is recognised in one turn, a later turn that says only "Crystal"
        loses it too, and the local part of an email is treated as a username.
        """
        pseudonyms = pseudonyms if pseudonyms is not None else PseudonymMap()
        ad_hoc = known_value_recognizers(known)
        entities = sorted(
            policy.entities
            | {entity for r in ad_hoc for entity in r.supported_entities}
        )
        try:
            analyses = [
                list(results)
                for results in self._batch.analyze_iterator(
                    texts,
                    language=self._language,
                    batch_size=self._batch_size,
                    entities=entities,
                    score_threshold=policy.score_threshold,
                    ad_hoc_recognizers=ad_hoc or None,
                )
            ]
            spans = [
                self._resolve(text, results)
                for text, results in zip(texts, analyses, strict=True)
            ]
            found = _harvest(texts, spans, policy)
            if found:
                recognizers = known_value_recognizers(found)
                found_types = sorted(
                    {e for r in recognizers for e in r.supported_entities}
                )
                for index, text in enumerate(texts):
                    extra = [
                        result
                        for recognizer in recognizers
                        for result in recognizer.analyze(text, found_types)
                    ]
                    if extra:
                        spans[index] = self._resolve(text, analyses[index] + extra)
            return [
                _replace(text, text_spans, pseudonyms)
                for text, text_spans in zip(texts, spans, strict=True)
            ]
        except Exception as exc:
            logger.exception("redaction failed for a batch of %d texts", len(texts))
            raise RedactionError(
                f"redaction failed for a batch of {len(texts)} texts; "
                "nothing from it was kept"
            ) from exc

    def _resolve(self, text: str, results: list[RecognizerResult]) -> list[_Span]:
        """Presidio's overlap resolution, read back as non-overlapping spans."""
        results = [r for r in results if self._plausible(text, r)]
        if not results:
            return []
        kept = self._anonymizer.anonymize(
            text=text,
            analyzer_results=results,  # type: ignore[arg-type]
            operators={"DEFAULT": OperatorConfig("keep")},
            conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
        )
        return sorted(
            (_Span(item.start, item.end, item.entity_type) for item in kept.items),
            key=lambda span: span.start,
        )

    @staticmethod
    def _plausible(text: str, result: RecognizerResult) -> bool:
        # The small NER model calls tokens like "question4" people; names and
        # places carry no digits.
        if result.entity_type in _NER_ENTITIES and result.score < 1.0:
            return not any(ch.isdigit() for ch in text[result.start : result.end])
        return True


_NER_ENTITIES = {"PERSON", "LOCATION", "NRP", "ORGANIZATION"}

# Entity types whose words, once found, are looked for across the whole scope.
_PROPAGATED_WORDS = {"PERSON", "LOCATION", "STREET_ADDRESS"}


def _harvest(
    texts: Sequence[str], spans: Sequence[Sequence[_Span]], policy: RedactionPolicy
) -> list[KnownValue]:
    found: dict[tuple[str, str], KnownValue] = {}
    for text, text_spans in zip(texts, spans, strict=True):
        for span in text_spans:
            value = text[span.start : span.end]
            if len(value) >= 3:
                found[(span.entity_type, value.casefold())] = KnownValue(
                    span.entity_type, value
                )
            if span.entity_type == "EMAIL_ADDRESS" and "USERNAME" in policy.entities:
                local = value.split("@", 1)[0]
                if len(local) >= 4:
                    found[("USERNAME", local.casefold())] = KnownValue(
                        "USERNAME", local
                    )
    # Single words are matched by known_value_recognizers for these types.
    return [
        value
        for (entity_type, _), value in found.items()
        if entity_type in _PROPAGATED_WORDS or entity_type in policy.entities
    ]


def _replace(text: str, spans: Sequence[_Span], pseudonyms: PseudonymMap) -> Redaction:
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
