"""PII detection and redaction with Presidio, with consistent typed placeholders."""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from presidio_analyzer import (
    AnalyzerEngine,
    BatchAnalyzerEngine,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpEngineProvider, SpacyNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
from spacy.lang.en.stop_words import STOP_WORDS

from cx_context.guardrails.errors import RedactionError
from cx_context.guardrails.identity_answers import AnswerSpan, answer_spans
from cx_context.guardrails.pii_config import (
    InvalidTextError,
    PiiConfig,
    PiiConfigError,
    check_text,
)
from cx_context.guardrails.pii_spans import harvest, plausible, trim_and_extend
from cx_context.guardrails.pseudonyms import (
    DetectedSpan,
    PseudonymMap,
    Redaction,
    Replacement,
    replace_spans,
)
from cx_context.guardrails.recognizers import (
    KnownValue,
    conversation_recognizers,
    known_value_recognizers,
)
from cx_context.guardrails.text_folding import fold

__all__ = [
    "CONTENT_POLICY",
    "CONVERSATION_POLICY",
    "DetectedSpan",
    "KnownValue",
    "PiiRedactor",
    "PolicyError",
    "PseudonymMap",
    "Redaction",
    "RedactionPolicy",
    "Replacement",
]

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
        "US_DRIVER_LICENSE",
        "UK_NHS",
        "CRYPTO",
        "MEDICAL_LICENSE",
        "AU_ABN",
        "AU_ACN",
        "AU_TFN",
        "AU_MEDICARE",
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


class PolicyError(RedactionError, PiiConfigError):
    """A redaction policy names an entity type that no recognizer finds."""


@dataclass(frozen=True)
class RedactionPolicy:
    """Which entity types are removed, and how sure the detector must be."""

    name: str
    entities: frozenset[str]
    score_threshold: float = 0.4


# What customers write: names, places and the identifiers of the retail and
# banking trade. Dates and organisations stay, because summaries need them;
# a date of birth goes.
CONVERSATION_POLICY = RedactionPolicy(
    name="conversation",
    entities=STRUCTURED_ENTITIES
    | {"PERSON", "LOCATION", "ORDER_ID", "USERNAME", "ACCOUNT_ID"}
    | {"STREET_ADDRESS", "POSTCODE", "DATE_OF_BIRTH"},
)

# What the organisation writes (policies, FAQs): only structured identifiers.
# The small NER model tags headings such as "Email Address" or "Record Reason"
# as people, so names are not removed from authored content.
CONTENT_POLICY = RedactionPolicy(name="content", entities=STRUCTURED_ENTITIES)


def _known_words(nlp_engine: Any) -> frozenset[str]:
    """English words the spaCy model's lemmatizer knows (about 90,000)."""
    try:
        lemmatizer = nlp_engine.nlp["en"].get_pipe("lemmatizer")
        index = lemmatizer.lookups.get_table("lemma_index")
    except (KeyError, AttributeError, TypeError, ValueError):
        logger.warning(
            "the spaCy model has no lemma index; introduced names need a cue"
        )
        return frozenset()
    return frozenset(word for words in index.values() for word in words)


@contextmanager
def quiet_presidio() -> Iterator[None]:
    """Hold back Presidio's warning about every recognizer of another language
    it skips while loading its predefined recognizers; errors still show."""
    presidio_logger = logging.getLogger("presidio-analyzer")
    level = presidio_logger.level
    presidio_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        presidio_logger.setLevel(level)


class PiiRedactor:
    """Finds personal data with Presidio and replaces it with typed placeholders.

    Redaction fails closed: bad input raises `InvalidTextError`, a policy that
    names an unknown entity type raises `PolicyError`, and a failure inside
    analysis raises `RedactionError`; in every case no text is returned.
    """

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        anonymizer: AnonymizerEngine | None = None,
        language: str = "en",
        batch_size: int | None = None,
        config: PiiConfig | None = None,
        known_words: frozenset[str] | None = None,
    ) -> None:
        self._config = config or PiiConfig()
        self._analyzer = analyzer
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        self._anonymizer = anonymizer or AnonymizerEngine()  # type: ignore[no-untyped-call]
        self._language = language
        self._batch_size = batch_size or self._config.batch_size
        self._supported = frozenset(analyzer.get_supported_entities(language))
        # Words of the dictionary and function words: what a name is not.
        if known_words is None:
            known_words = _known_words(analyzer.nlp_engine)
        self._known = known_words | STOP_WORDS

    @property
    def config(self) -> PiiConfig:
        return self._config

    @classmethod
    def from_spacy_model(
        cls, model_name: str, config: PiiConfig | None = None, **kwargs: Any
    ) -> "PiiRedactor":
        """Build a redactor on an installed spaCy model; nothing is downloaded."""
        config = config or PiiConfig()
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
        # Nothing here reads the dependency parse; without it spaCy takes a
        # sixth less time per text, and the entities found stay the same.
        if isinstance(nlp_engine, SpacyNlpEngine) and nlp_engine.nlp:
            nlp = nlp_engine.nlp["en"]
            if "parser" in nlp.pipe_names:
                nlp.disable_pipe("parser")
        registry = RecognizerRegistry(supported_languages=["en"])
        with quiet_presidio():
            registry.load_predefined_recognizers(
                nlp_engine=nlp_engine, languages=["en"]
            )
            # Replaced by ConversationPhoneRecognizer, which knows our regions,
            # and ConversationEmailRecognizer, which needs no public suffix.
            registry.remove_recognizer("PhoneRecognizer")
            registry.remove_recognizer("EmailRecognizer")
        known_words = _known_words(nlp_engine)
        for recognizer in conversation_recognizers(config, known_words):
            registry.add_recognizer(recognizer)
        analyzer = AnalyzerEngine(
            nlp_engine=nlp_engine, registry=registry, supported_languages=["en"]
        )
        logger.info(
            "PII analyzer ready with spaCy model %s, phone regions %s",
            model_name,
            ",".join(config.phone_regions),
        )
        return cls(analyzer, config=config, known_words=known_words, **kwargs)

    def check_policy(
        self, policy: RedactionPolicy, known: Sequence[KnownValue] = ()
    ) -> None:
        """Raise `PolicyError` if the policy names a type nothing can find."""
        supported = self._supported | {value.entity_type for value in known}
        unknown = sorted(policy.entities - supported)
        if unknown:
            raise PolicyError(
                f"policy {policy.name!r}: entity types must be ones a recognizer "
                f"finds ({', '.join(sorted(self._supported))}), got "
                f"{', '.join(repr(u) for u in unknown)}; the batch was refused and "
                "nothing from it was kept"
            )
        if not 0.0 <= policy.score_threshold <= 1.0:
            raise PolicyError(
                f"policy {policy.name!r}: score_threshold must be in [0, 1], "
                f"got {policy.score_threshold}"
            )

    def redact(
        self,
        text: str,
        policy: RedactionPolicy = CONVERSATION_POLICY,
        pseudonyms: PseudonymMap | None = None,
        known: Sequence[KnownValue] = (),
    ) -> Redaction:
        """Redact one text; an empty or blank text is an error."""
        if isinstance(text, str) and not text.strip():
            raise InvalidTextError(
                f"text 0: text must not be empty or blank, got {len(text)} "
                "whitespace characters"
            )
        return self.redact_many([text], policy, pseudonyms, known)[0]

    def redact_many(
        self,
        texts: Sequence[str],
        policy: RedactionPolicy = CONVERSATION_POLICY,
        pseudonyms: PseudonymMap | None = None,
        known: Sequence[KnownValue] = (),
        *,
        speakers: Sequence[str] | None = None,
    ) -> list[Redaction]:
        """Redact texts that share one pseudonym scope, analysed in one spaCy batch.

        A value found once is removed everywhere in the scope: when "Crystal
        Minh" is recognised in one turn, a later turn that says only "Crystal"
        loses it too, and the local part of an email is treated as a username.
        Empty texts in a batch (a blank summary, say) come back empty.
        """
        pseudonyms = pseudonyms if pseudonyms is not None else PseudonymMap()
        spans = self.detect_many(texts, policy, known, speakers=speakers)
        try:
            return [
                replace_spans(text, text_spans, pseudonyms)
                for text, text_spans in zip(texts, spans, strict=True)
            ]
        except Exception as exc:
            raise self._failed(len(texts), exc) from exc

    def detect_many(
        self,
        texts: Sequence[str],
        policy: RedactionPolicy = CONVERSATION_POLICY,
        known: Sequence[KnownValue] = (),
        *,
        speakers: Sequence[str] | None = None,
    ) -> list[list[DetectedSpan]]:
        """The personal data in each text of one scope, as sorted spans.

        With `speakers` (who said each text: "customer", "agent", "bot", ...)
        the texts are read as a conversation, and a customer's reply to a turn
        asking for an identifier is taken as that identifier (see
        `identity_answers`). Texts are read folded (`text_folding`): spans
        are on the original text and cover any invisible characters inside.
        """
        if speakers is not None and len(speakers) != len(texts):
            raise InvalidTextError(
                f"speakers must name one speaker per text: got {len(speakers)} "
                f"speakers for {len(texts)} texts"
            )
        texts = [
            check_text(text, position, self._config.max_text_chars)
            for position, text in enumerate(texts)
        ]
        self.check_policy(policy, known)
        try:
            folded = [fold(text) for text in texts]
            known = [KnownValue(k.entity_type, fold(k.value).text) for k in known]
            spans = [
                text.original_spans(text_spans)
                for text, text_spans in zip(
                    folded,
                    self._detect([f.text for f in folded], policy, known, speakers),
                    strict=True,
                )
            ]
        except Exception as exc:
            raise self._failed(len(texts), exc) from exc
        counts: dict[str, int] = {}
        for text_spans in spans:
            for span in text_spans:
                counts[span.entity_type] = counts.get(span.entity_type, 0) + 1
        logger.debug("found %s in a batch of %d texts", counts, len(texts))
        return spans

    def _detect(
        self,
        texts: Sequence[str],
        policy: RedactionPolicy,
        known: Sequence[KnownValue],
        speakers: Sequence[str] | None,
    ) -> list[list[DetectedSpan]]:
        ad_hoc = known_value_recognizers(known)
        entities = sorted(
            policy.entities
            | {entity for r in ad_hoc for entity in r.supported_entities}
        )
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
        found = harvest(texts, spans, policy.entities)
        if found:
            recognizers = known_value_recognizers(found)
            found_types = sorted({e for r in recognizers for e in r.supported_entities})
            for index, text in enumerate(texts):
                extra = [
                    result
                    for recognizer in recognizers
                    for result in recognizer.analyze(text, found_types)
                ]
                if extra:
                    analyses[index] += extra
                    spans[index] = self._resolve(text, analyses[index])
        # Answers to identity questions come last and are not looked for in
        # other turns: a name spelled out letter by letter is no word to find.
        if speakers is not None:
            answers = answer_spans(speakers, texts, policy.entities, self._known)
            for index, text_answers in enumerate(answers):
                if text_answers:
                    analyses[index] = _with_answers(analyses[index], text_answers)
                    spans[index] = self._resolve(texts[index], analyses[index])
        return spans

    def _resolve(
        self, text: str, results: list[RecognizerResult]
    ) -> list[DetectedSpan]:
        """Presidio's overlap resolution, read back as non-overlapping spans."""
        results = _known_values_first([r for r in results if plausible(text, r)])
        if not results:
            return []
        trim_and_extend(text, results)
        kept = self._anonymizer.anonymize(
            text=text,
            analyzer_results=results,  # type: ignore[arg-type]
            operators={"DEFAULT": OperatorConfig("keep")},
            conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
        )
        return sorted(
            (
                DetectedSpan(item.start, item.end, item.entity_type)
                for item in kept.items
            ),
            key=lambda span: span.start,
        )

    @staticmethod
    def _failed(count: int, exc: Exception) -> RedactionError:
        # The exception's message may quote the text, so only its type is logged.
        logger.error(
            "redaction failed for a batch of %d texts: %s", count, type(exc).__name__
        )
        return RedactionError(
            f"redaction failed for a batch of {count} texts "
            f"({type(exc).__name__}); nothing from it was kept"
        )


def _with_answers(
    results: list[RecognizerResult], answers: Sequence[AnswerSpan]
) -> list[RecognizerResult]:
    """The findings of a turn once its answers to identity questions are known.

    Where a recognizer found a value of an asked type inside the answer
    ("Username: <USERNAME>"), it knows the value's bounds and stays. Otherwise
    the question says what the answer is: nothing found inside it (a "Crystal"
    read as a place) may relabel it, and the whole answer is the value.
    """
    kept = list(results)
    for answer in answers:
        inside = [r for r in kept if r.start < answer.end and answer.start < r.end]
        if any(r.entity_type in answer.asked for r in inside):
            continue
        kept = [r for r in kept if r not in inside]
        kept.append(
            RecognizerResult(
                answer.entity_type,
                answer.start,
                answer.end,
                1.0,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: "IdentityAnswerRecognizer"
                },
            )
        )
    return kept


def _known_values_first(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop findings that overlap a known value of the customer's record.

    The record says what a value is (an order id), so a pattern that reads the
    same digits as something else (a UK NHS number) must not relabel it.
    """

    def known(result: RecognizerResult) -> bool:
        metadata = result.recognition_metadata or {}
        name = str(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, ""))
        return name.startswith("KnownValue")

    spans = [(r.start, r.end, r.entity_type) for r in results if known(r)]
    if not spans:
        return results
    # Only another type is displaced: between two readings of the same type
    # Presidio's own resolution keeps the longer span.
    return [
        r
        for r in results
        if known(r)
        or not any(
            r.start < end and start < r.end and r.entity_type != entity
            for start, end, entity in spans
        )
    ]
