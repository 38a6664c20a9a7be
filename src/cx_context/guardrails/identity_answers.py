"""Answers to identity questions: what a caller says right after being asked.

On a voice line a postcode arrives as "whiskey 2 0 alpha bravo", a date of
birth as "27th of the 9th 1979" and a name spelled out as "m a x". No pattern
or NER model reads those as personal data, but the question before them says
what they are. When an agent or bot turn asks for an identifier, the next
customer turn's answer (after a lead-in such as "yes it's" and up to the end
of its first sentence) is taken as a value of the type asked for, provided it
holds something of that type's shape: a digit, a spelled letter, a number or
month word for codes and dates, a word the dictionary does not know or a
capitalised word for names. "My postcode" or "I don't have one" stays text.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["CUSTOMER", "AnswerSpan", "answer_spans", "asked_types"]

CUSTOMER = "customer"

# What a turn asks for, by entity type. An address line asks for an address
# only when it is not an email address.
_ASKED = {
    "POSTCODE": re.compile(r"\b(?:post ?code|postal code|zip(?: ?code)?)\b", re.I),
    "DATE_OF_BIRTH": re.compile(
        r"\b(?:date of birth|birth ?date|birthday|d\.?o\.?b\b|when were you born)",
        re.I,
    ),
    "PERSON": re.compile(
        r"\b(?:(?:your|the account holder'?s?|full|first|last|sur|maiden) ?name"
        r"|spell (?:it|that|your|the)|who (?:am i|i'm) speaking|who(?:'s| is) calling)",
        re.I,
    ),
    "STREET_ADDRESS": re.compile(
        r"\b(?:home|street|billing|shipping|delivery|postal|your) address\b", re.I
    ),
    "EMAIL_ADDRESS": re.compile(r"\be-?mail(?: address)?\b", re.I),
    "PHONE_NUMBER": re.compile(
        r"\b(?:phone|mobile|contact|telephone|cell) number\b", re.I
    ),
    "ACCOUNT_ID": re.compile(
        r"\b(?:account|membership|member|customer|policy|reference) (?:number|id)\b",
        re.I,
    ),
    "ORDER_ID": re.compile(r"\border (?:number|id)\b", re.I),
    "USERNAME": re.compile(r"\buser ?name\b", re.I),
}
# A turn asks, rather than tells ("I have updated your address"), when the
# sentence that names the identifier is a question or a request.
_REQUEST = re.compile(
    r"\b(?:please|can|could|may|would|what|what's|which|tell|give|confirm|spell|"
    r"provide|need|say|repeat|verify|let me have|dm|send)\b",
    re.I,
)
_SENTENCE = re.compile(r"[^.?!]+[.?!]*")

_LEAD_IN = re.compile(
    # Social replies open with the handles they answer ("@AmazonHelp").
    r"^(?:\s*@\w+[\s,:]*)*"
    r"(?:\W*\b(?:yes|yeah|yep|yup|sure|ok|okay|right|um+|uh+|er+m?|hmm+|so|well|"
    r"hi|hello|of course|certainly|no problem|it's|it is|its|that's|that is|"
    r"this is|i'm|i am|my name is|my name's|my (?:post ?code|postal code|zip "
    r"?code|date of birth|birthday|address|e-?mail(?: address)?|phone number|"
    r"number|account (?:number|id)|order (?:number|id)) is|i was born on|"
    r"i was born|born on|the|it|is)\b[\s,.:;!-]*)*",
    re.I,
)
_TRAIL = re.compile(
    r"[\s,.;!-]*\b(?:thanks|thank you|thank you very much|cheers|please)\W*$", re.I
)
# Where a longer turn moves on from the value to something else.
_CLAUSE = re.compile(
    r"[.?!](?:\s|$)|\s(?:because|but|and i|and i'm|and my|so i|i'm calling|"
    r"i am calling|i need|i want|i'd like|i would like)\b",
    re.I,
)
_MAX_WORDS = 24


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NATO = _words(
    "alpha alfa bravo charlie delta echo foxtrot golf hotel india juliet juliett "
    "kilo lima mike november oscar papa quebec romeo sierra tango uniform victor "
    "whiskey whisky xray x-ray yankee zulu"
)
_NUMBER_WORDS = _words(
    "zero oh nought one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty "
    "forty fifty sixty seventy eighty ninety hundred thousand double triple"
)
_ORDINALS = _words(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
    "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
    "nineteenth twentieth thirtieth"
)
_MONTHS = _words(
    "january february march april may june july august september october "
    "november december jan feb mar apr jun jul aug sep sept oct nov dec"
)
_NOT_NAMES = _words(
    "i a u ur im the my it is its it's yes no not don't dont have sorry what "
    "pardon hello hi hey okay ok sure one thanks thankyou thx ty dm"
)
_SHORT_NAME_REPLY = 4
# Words that open a reply without naming anyone ("Done", "Sent", "Why").
_FUNCTION_WORDS = _words(
    "done sent why how what when where who yes no nope sure okay thanks sorry "
    "just again same sorry pardon maybe can could would will hang hold wait "
    "one moment got did do does it this that there here hello hi hey"
)
_TOKEN = re.compile(r"[\w'’@.-]+")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class AnswerSpan:
    """Where in a customer turn the value asked for lies, and its type."""

    start: int
    end: int
    entity_type: str
    asked: frozenset[str] = frozenset()  # every type the question asked for


def asked_types(text: str, entities: frozenset[str]) -> frozenset[str]:
    """The identifier types, among `entities`, that a turn asks the customer for."""
    asked = set()
    for sentence in _SENTENCE.findall(text):
        for entity_type, pattern in _ASKED.items():
            if entity_type not in entities:
                continue
            for named in pattern.finditer(sentence):
                if entity_type == "STREET_ADDRESS" and re.search(
                    r"e-?mail address", sentence, re.I
                ):
                    continue
                if _requests(sentence, named.start()):
                    asked.add(entity_type)
    return frozenset(asked)


def _requests(sentence: str, at: int) -> bool:
    """Whether the sentence asks for what it names at `at`.

    It does when a request word comes before ("can I have your name"), or the
    clause naming it is a question or says please ("your postcode, please");
    "I have updated your address, anything else?" asks for nothing.
    """
    request = _REQUEST.search(sentence)
    if request is not None and request.start() < at:
        return True
    begin = sentence.rfind(",", 0, at) + 1
    end = sentence.find(",", at)
    clause = sentence[begin : end if end >= 0 else len(sentence)]
    return clause.rstrip().endswith("?") or "please" in clause.casefold()


def answer_spans(
    speakers: Sequence[str],
    texts: Sequence[str],
    entities: frozenset[str],
    known_words: frozenset[str] = frozenset(),
) -> list[list[AnswerSpan]]:
    """For each text of a conversation, the answer it gives to an identity question.

    `speakers` names who said each text; a text whose speaker is the customer
    and whose previous non-customer text asked for an identifier may answer it.
    `known_words` are the dictionary's words (with function words): a name is
    a word outside them, or capitalised.
    """
    found: list[list[AnswerSpan]] = [[] for _ in texts]
    asked: frozenset[str] = frozenset()
    for index, (speaker, text) in enumerate(zip(speakers, texts, strict=True)):
        if speaker != CUSTOMER:
            asked = asked_types(text, entities)
            continue
        if asked:
            span = _answer(text, asked, known_words)
            if span is not None:
                found[index].append(span)
        asked = frozenset()  # only the first reply answers the question
    return found


def _answer(
    text: str, asked: frozenset[str], known_words: frozenset[str]
) -> AnswerSpan | None:
    start = _LEAD_IN.match(text)
    begin = start.end() if start else 0
    clause = _CLAUSE.search(text, begin)
    end = clause.start() if clause else len(text)
    trail = _TRAIL.search(text, begin, end)
    if trail:
        end = trail.start()
    value = text[begin:end]
    stripped = value.strip(" \t,.;:!?-")
    if not stripped or len(stripped.split()) > _MAX_WORDS:
        return None
    begin += value.find(stripped)
    end = begin + len(stripped)
    raw_tokens = _TOKEN.findall(_URL.sub(" ", stripped))
    tokens = [t.strip(".-").casefold() for t in raw_tokens]
    # The type is the first asked whose shape the answer has, in a fixed order.
    for entity_type in sorted(asked):
        if _has_shape(entity_type, tokens, raw_tokens, known_words):
            return AnswerSpan(begin, end, entity_type, asked)
    return None


def _spelled(token: str) -> bool:
    return len(token) == 1 and token.isalpha() and token not in {"i", "a", "u"}


def _numeric(token: str) -> bool:
    return any(c.isdigit() for c in token) or token in _NUMBER_WORDS


def _looks_like_a_name(
    tokens: list[str], raw_tokens: list[str], known_words: frozenset[str]
) -> bool:
    """Letters spelled out ("m a x"), a word the dictionary does not know, two
    capitalised words in a row ("Amber Waters"), a capitalised word after the
    first ("I have messaged you James"), or a short reply that opens with a
    capitalised word that is no function word ("Taylor", "Clive alley"). A
    reply such as "Done." or "It is" is not one."""
    words = [
        (t, raw[:1].isupper() and t not in _NOT_NAMES)
        for t, raw in zip(tokens, raw_tokens, strict=True)
        if t.isalpha()
    ]
    return (
        sum(_spelled(t) for t, _ in words) >= 2
        or any(
            t not in _NOT_NAMES and len(t) >= 3 and known_words and t not in known_words
            for t, _ in words
        )
        or any(a and b for (_, a), (_, b) in pairwise(words))
        or any(capital for _, capital in words[1:])
        or (
            bool(words)
            and len(raw_tokens) <= _SHORT_NAME_REPLY
            and words[0][1]
            and words[0][0] == tokens[0]
            and words[0][0] not in _FUNCTION_WORDS
        )
    )


def _has_shape(
    entity_type: str,
    tokens: list[str],
    raw_tokens: list[str],
    known_words: frozenset[str],
) -> bool:
    """Whether an answer holds something of the shape of a value of the type."""
    shapes = {
        "USERNAME": lambda: any(
            _numeric(t) or t not in known_words for t in tokens if t.isalnum()
        ),
        "POSTCODE": lambda: any(
            _numeric(t) or _spelled(t) or t in _NATO for t in tokens
        ),
        "DATE_OF_BIRTH": lambda: any(
            _numeric(t) or t in _ORDINALS or t in _MONTHS for t in tokens
        ),
        "PHONE_NUMBER": lambda: sum(_numeric(t) for t in tokens) >= 3,
        # Written ("jo@mail.com") or spoken ("jo dot smith at mail dot com");
        # a handle such as "@AmazonHelp" is neither.
        "EMAIL_ADDRESS": lambda: (
            any(_EMAIL.fullmatch(t) for t in raw_tokens)
            or ("at" in tokens and "dot" in tokens)
        ),
        "STREET_ADDRESS": lambda: len(tokens) >= 2 and any(map(_numeric, tokens)),
        "PERSON": lambda: _looks_like_a_name(tokens, raw_tokens, known_words),
    }
    shapes["ACCOUNT_ID"] = shapes["ORDER_ID"] = shapes["POSTCODE"]
    return shapes[entity_type]()
