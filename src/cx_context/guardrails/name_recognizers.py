"""People's names where the small NER model misses them.

Customers type names in lower case, after a title ("ms. wijtze"), or in a
self-introduction ("this is crystal minh"). These recognizers read the cue
and the tokens after it, using the tagger's parts of speech and a list of
known English words (from the spaCy model's lemmatizer tables).

The English tagger gives words of other scripts arbitrary parts of speech
("李娜" comes out as a conjunction), so after a cue a word written wholly in
another script counts as a name whatever its tag. Without a cue, a name in
another script (a Chinese name such as "刘德华", say) is out of reach of the
English model and of these recognizers, and stays in the text.
"""

import re
import unicodedata
from typing import Any

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

# "my name is", "this is", "I'm" ... followed by a name. Strong cues admit any
# run of up to three content words; weak ones ("this is", "I'm") only a run
# that the tagger calls a proper noun or that holds a word English does not
# know, so "this is ridiculous" and "I'm calling" stay.
_STRONG_CUE = re.compile(
    r"\b(?:my name is|my name's|name is|name's|call me|calls me|name:|"
    r"(?:first|last|full|sur)\s*name\?)\s+",
    re.IGNORECASE,
)
_WEAK_CUE = re.compile(
    r"\b(?:this is|it's|it is|i'm|i am|im|here is|speaking with|you're talking to|"
    r"name(?=\s+(?-i:[A-Z])))\s+(?:(?:mr|mrs|ms|miss|dr)\.?\s+)?",
    re.IGNORECASE,
)
_TITLE = re.compile(r"\b(?:mr|mrs|ms|miss|mx|dr|prof|dame)\.?\s+", re.IGNORECASE)
_NAME_POS = {"PROPN", "NOUN", "ADJ", "ADV", "X", "VERB"}
_SUFFIX_OR_INITIAL = re.compile(r"[A-Za-z]\.?|jr\.?|sr\.?|ii|iii|iv", re.IGNORECASE)
_NOT_NAMES = frozenset(
    [
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
        "change",
        "changed",
        "wrong",
        "correct",
        "on",
    ]
)


def _other_script(word: str) -> bool:
    """A word with no Latin letter in it: Chinese, Cyrillic, Greek, Arabic..."""
    return not any(unicodedata.name(c, "").startswith("LATIN") for c in word)


def _explain(name: str, score: float, why: str) -> AnalysisExplanation:
    return AnalysisExplanation(
        recognizer=name, original_score=score, textual_explanation=why
    )


class IntroducedNameRecognizer(LocalRecognizer):
    """Finds the name in a self-introduction, in any letter case."""

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
                run = self._run_after(doc, match.end())
                if not run:
                    continue
                unknown = any(
                    t.text.casefold() not in self._known
                    and t.lemma_.casefold() not in self._known
                    for t in run
                )
                proper = any(t.pos_ == "PROPN" for t in run)
                if strong or proper or unknown:
                    start, end = run[0].idx, run[-1].idx + len(run[-1].text)
                    score = 0.75 if strong else 0.6
                    results.append(
                        RecognizerResult(
                            "PERSON",
                            start,
                            end,
                            score,
                            _explain(
                                self.__class__.__name__,
                                score,
                                "name after an introduction",
                            ),
                        )
                    )
        return results

    @staticmethod
    def _run_after(doc: Any, offset: int) -> list[Any]:
        run: list[Any] = []
        for token in doc:
            if token.idx < offset:
                continue
            word = token.text.casefold()
            name_like = (
                token.is_alpha
                and not token.is_stop
                and (token.pos_ in _NAME_POS or _other_script(token.text))
                and word not in _NOT_NAMES
            ) or (run and _SUFFIX_OR_INITIAL.fullmatch(word))
            if not name_like or len(run) == 4:
                break
            run.append(token)
        return run


class TitledNameRecognizer(LocalRecognizer):
    """Finds the name after a title: "Mrs. Amy Kupcová", "ms. wijtze", "Dr. Nielsen".

    The first word after the title is taken in any case; further words only
    when capitalised, so "Mr. Fernandez is a ..." stops at the name.
    """

    SCORE = 0.7
    _WORD = re.compile(r"[^\W\d_][\w'’-]*")

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="TitledNameRecognizer")

    def load(self) -> None:  # regular expressions only
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        results = []
        for cue in _TITLE.finditer(text):
            end = cue.end()
            words = 0
            while words < 3:
                gap = re.match(r"[ \t]*", text[end:]).end() if words else 0  # type: ignore[union-attr]
                word = self._WORD.match(text, end + gap)
                if word is None:
                    break
                value = word.group()
                if words and not value[0].isupper():
                    break
                if not words and value.casefold() in _NOT_NAMES | {"and", "or"}:
                    break
                end = word.end()
                words += 1
            if words:
                results.append(
                    RecognizerResult(
                        "PERSON",
                        cue.end(),
                        end,
                        self.SCORE,
                        _explain(
                            self.__class__.__name__, self.SCORE, "name after a title"
                        ),
                    )
                )
        return results


# Not "ORG": the small model calls many unfamiliar names organisations, and
# a missed name leaks while a redacted brand ("Welcome to AcmeBrands") only
# reads worse.
_NOT_PERSON_LABELS = frozenset({"PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "LANGUAGE"})


class UnfamiliarNameRecognizer(LocalRecognizer):
    """Finds capitalised proper nouns that are not English words ("Kasslin").

    The small NER model misses many names from outside its training data. A
    run of capitalised tokens that the tagger calls proper nouns, one of which
    the lemmatizer does not know, is most often a person or a place; it scores
    just above the redaction threshold, so any stronger finding wins.
    """

    SCORE = 0.45

    def __init__(self, known_words: frozenset[str]) -> None:
        super().__init__(supported_entities=["PERSON"], name="UnfamiliarNameRecognizer")
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
            or not self._known
        ):
            return []
        doc = nlp_artifacts.tokens
        # What the NER model calls a product or a title of a work is not a name.
        not_names = {
            token.i
            for ent in doc.ents
            if ent.label_ in _NOT_PERSON_LABELS
            for token in ent
        }
        results = []
        run: list[Any] = []
        for token in [*doc, None]:
            if (
                token is not None
                and token.i not in not_names
                and self._capitalised_proper(token, text)
            ):
                run.append(token)
                continue
            if run and any(self._unfamiliar(t) for t in run):
                start, end = run[0].idx, run[-1].idx + len(run[-1].text)
                results.append(
                    RecognizerResult(
                        "PERSON",
                        start,
                        end,
                        self.SCORE,
                        _explain(
                            self.__class__.__name__,
                            self.SCORE,
                            "unfamiliar proper noun",
                        ),
                    )
                )
            run = []
        return results

    def _unfamiliar(self, token: Any) -> bool:
        # Inflected forms ("Musicians") are known through their lemma.
        return (
            token.text.casefold() not in self._known
            and token.lemma_.casefold() not in self._known
        )

    @staticmethod
    def _capitalised_proper(token: Any, text: str) -> bool:
        word = token.text
        # "Username:" is a form label, not a name.
        label = text[token.idx + len(word) : token.idx + len(word) + 1] == ":"
        return bool(
            not label
            and token.pos_ == "PROPN"
            and token.is_alpha
            and len(word) >= 3
            and word[0].isupper()
            and not word.isupper()
            and not token.is_stop
        )
