"""Email addresses, on any domain and however they are written out.

Presidio's email recognizer keeps an address only if its domain ends in a
suffix of the public suffix list, so addresses on private or reserved names
(`acme.internal`, `corp.example`, `mail.lan`) stayed in the text. Here the
shape decides: a domain is accepted when its last label is a public suffix or
letters that are not a file extension, so "logo@2x.png" stays. Addresses
written to dodge harvesters ("quinton [at] example [dot] com", "quinton at
example dot com") are found by their own recognizer.
"""

import mimetypes
import re
from typing import Any

import tldextract
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

# The bundled snapshot of the public suffix list: nothing is fetched.
_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
# Python's own table of file extensions, without the machine's mime.types, so
# the answer does not depend on the host.
_FILE_TYPES = mimetypes.MimeTypes()


def plausible_domain(domain: str) -> bool:
    """Whether a domain could receive mail: a public suffix, or a private name."""
    if "." not in domain:
        return False
    if _SUFFIXES(domain).suffix:
        return True
    last = domain.rsplit(".", 1)[1]
    return (
        len(last) >= 2
        and last.isalpha()
        and _FILE_TYPES.guess_type(f"file.{last}")[0] is None
    )


class ConversationEmailRecognizer(EmailRecognizer):
    """Presidio's email pattern, with a domain check that needs no suffix list."""

    def __init__(self) -> None:
        super().__init__(name="ConversationEmailRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        return plausible_domain(pattern_text.rsplit("@", 1)[-1])


# "[at]", "(at)", "{at}", "<at>" and the same for "dot", in any letter case.
_BRACKETED_AT = r"\s*[\[({<]\s*at\s*[\])}>]\s*"
_BRACKETED_DOT = r"\s*[\[({<]\s*dot\s*[\])}>]\s*"
_SPOKEN_AT = r"\s+at\s+|\s*@\s*"
_SPOKEN_DOT = r"\s+dot\s+"
_WORD = r"[^\W_][\w+-]{0,63}"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ANY_DOT = rf"(?:{_BRACKETED_DOT}|{_SPOKEN_DOT}|\.)"
# "jo.smith", "jo dot smith", "jo [dot] smith". The counts are bounded so a
# long run of "a dot a dot ..." costs linear time, not quadratic.
_LOCAL = rf"(?<![\w.+'’-]){_WORD}(?:{_ANY_DOT}{_WORD}){{0,4}}"
_DOMAIN = rf"{_LABEL}(?:{_ANY_DOT}{_LABEL}){{1,5}}(?![\w-])"
_WRITTEN_OUT = re.compile(
    rf"{_LOCAL}(?:{_BRACKETED_AT}|{_SPOKEN_AT}){_DOMAIN}", re.IGNORECASE
)
_AT = re.compile(rf"{_BRACKETED_AT}|{_SPOKEN_AT}", re.IGNORECASE)
_BRACKETED_AT_OR_DOT = re.compile(rf"{_BRACKETED_AT}|{_BRACKETED_DOT}", re.IGNORECASE)
_DOT = re.compile(rf"{_BRACKETED_DOT}|{_SPOKEN_DOT}", re.IGNORECASE)
_CUE = re.compile(r"\b(?:e-?mail|mail|address|contact|reach|write)\b", re.IGNORECASE)
_WINDOW = 40


def written_out(value: str) -> str:
    """An address as it would be typed: "jo [at] mail dot com" is "jo@mail.com"."""
    found = _AT.search(value)
    if found is None:
        return value
    local, domain = value[: found.start()], value[found.end() :]
    return f"{_DOT.sub('.', local)}@{_DOT.sub('.', domain)}"


def local_part(value: str) -> str:
    """The part of an address before its "@" or "at"."""
    return written_out(value).split("@", 1)[0]


class ObfuscatedEmailRecognizer(LocalRecognizer):
    """Addresses with "at" and "dot" written as words or in brackets.

    A bracketed "[at]" or "(dot)" is an address on its own. Plain words read
    the same as a sentence ("bought it at amazon dot com"), so a spoken
    address counts only when its local part is no function word, and it
    scores under the redaction threshold unless that part holds a digit or a
    word English does not know, or a cue ("email", "reach") comes before it.
    """

    BRACKETED_SCORE = 0.8
    UNKNOWN_WORD_SCORE = 0.5
    SPOKEN_SCORE = 0.3
    CUE_BOOST = 0.35

    def __init__(self, known_words: frozenset[str]) -> None:
        super().__init__(
            supported_entities=["EMAIL_ADDRESS"], name="ObfuscatedEmailRecognizer"
        )
        self._known = known_words

    def load(self) -> None:  # a pattern; nothing to load
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if "EMAIL_ADDRESS" not in entities:
            return []
        results = []
        for found in _WRITTEN_OUT.finditer(text):
            value = found.group()
            address = written_out(value)
            if address == value or "@" not in address:
                continue  # a plain address: ConversationEmailRecognizer's
            local, domain = address.split("@", 1)
            if not plausible_domain(domain):
                continue
            score = self._score(value, local, self._lemmas(nlp_artifacts, found))
            if score is None:
                continue
            if _CUE.search(text[max(0, found.start() - _WINDOW) : found.start()]):
                score = min(1.0, score + self.CUE_BOOST)
            results.append(
                RecognizerResult(
                    "EMAIL_ADDRESS",
                    found.start(),
                    found.end(),
                    score,
                    AnalysisExplanation(
                        recognizer=self.__class__.__name__,
                        original_score=score,
                        textual_explanation="address with at or dot written out",
                    ),
                )
            )
        return results

    @staticmethod
    def _lemmas(nlp_artifacts: Any, found: re.Match[str]) -> dict[str, str]:
        """The lemma of each word of a match, as the tagger read it."""
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return {}
        return {
            token.text.casefold(): token.lemma_.casefold()
            for token in doc
            if found.start() <= token.idx < found.end()
        }

    def _score(self, value: str, local: str, lemmas: dict[str, str]) -> float | None:
        if _BRACKETED_AT_OR_DOT.search(value):
            return self.BRACKETED_SCORE
        words = [word for word in re.split(r"[._+-]", local.casefold()) if word]
        if len(words) == 1 and words[0] in STOP_WORDS:
            return None
        # Inflected words ("shopped at target dot com") are known by their lemma.
        if len(words) > 1 or any(
            any(ch.isdigit() for ch in word)
            or (word not in self._known and lemmas.get(word, word) not in self._known)
            for word in words
        ):
            return self.UNKNOWN_WORD_SCORE
        return self.SPOKEN_SCORE
