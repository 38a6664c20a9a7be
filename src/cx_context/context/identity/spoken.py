"""Readings of spoken claims: postcodes, names and dates of birth as callers say them.

Speech recognition hands us words, not values: "whiskey 2 0 alpha bravo",
"t for Tommy", "k a t i e", "27th of the 9th 1979", "the third of march
eighty two". Each function here turns one transcription into the few values
it most plausibly stands for; the resolver compares every reading of every
alternative with a profile and keeps the best, so a reading may be wrong as
long as the right one is among them.
"""

import re

from cx_context.context.identity.normalize import fold

NATO = {
    "alpha": "a",
    "alfa": "a",
    "bravo": "b",
    "charlie": "c",
    "delta": "d",
    "echo": "e",
    "echoes": "e",
    "foxtrot": "f",
    "golf": "g",
    "hotel": "h",
    "india": "i",
    "juliet": "j",
    "juliett": "j",
    "kilo": "k",
    "lima": "l",
    "mike": "m",
    "november": "n",
    "oscar": "o",
    "papa": "p",
    "quebec": "q",
    "romeo": "r",
    "sierra": "s",
    "tango": "t",
    "uniform": "u",
    "victor": "v",
    "whiskey": "w",
    "whisky": "w",
    "xray": "x",
    "yankee": "y",
    "zulu": "z",
}
# How letters are heard when said on their own.
LETTER_NAMES = {
    "ay": "a",
    "bee": "b",
    "be": "b",
    "see": "c",
    "sea": "c",
    "dee": "d",
    "ee": "e",
    "eff": "f",
    "ef": "f",
    "gee": "g",
    "jee": "g",
    "aitch": "h",
    "haitch": "h",
    "eye": "i",
    "jay": "j",
    "kay": "k",
    "el": "l",
    "elle": "l",
    "em": "m",
    "en": "n",
    "pee": "p",
    "pea": "p",
    "queue": "q",
    "cue": "q",
    "are": "r",
    "ar": "r",
    "ess": "s",
    "es": "s",
    "tea": "t",
    "tee": "t",
    "you": "u",
    "vee": "v",
    "ex": "x",
    "why": "y",
    "zed": "z",
    "zedd": "z",
    "zee": "z",
}
DIGIT_WORDS = {
    "zero": "0",
    "nought": "0",
    "nil": "0",
    "one": "1",
    "won": "1",
    "two": "2",
    "to": "2",
    "too": "2",
    "three": "3",
    "free": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "ate": "8",
    "nine": "9",
}
# Words callers and the recogniser add around a value; they carry nothing.
FILLERS = frozenset(
    [
        "my",
        "postcode",
        "post",
        "code",
        "is",
        "it's",
        "its",
        "it",
        "that's",
        "that",
        "sorry",
        "okay",
        "ok",
        "yes",
        "no",
        "yeah",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "the",
        "and",
        "please",
        "thanks",
        "thank",
        "so",
        "was",
        "yep",
        "name",
        "first",
        "last",
        "surname",
        "date",
        "of",
        "birth",
        "born",
        "on",
        "in",
    ]
)
_SPELLING_LINKS = frozenset(["for", "4", "as", "like"])
_TOKEN = re.compile(r"[a-z]+|[0-9]+")
MAX_READINGS = 6


def tokens(text: str) -> list[str]:
    """Lower-case words and digit runs of a transcription, without punctuation."""
    return _TOKEN.findall(fold(text).replace("'", "").replace("x-ray", "xray"))


def _letter_of(word: str) -> str | None:
    if len(word) == 1 and word.isalpha():
        return word
    return NATO.get(word) or LETTER_NAMES.get(word)


# Postcodes -------------------------------------------------------------------


def postcode_readings(text: str) -> list[str]:
    """Compact upper-case readings of a spoken postcode, most plausible first.

    "whiskey 2 0 alpha bravo" -> ["W20AB"]; "t for Tommy q for Queen" ->
    ["TQ"]. Words that are neither letters, digits nor fillers are read once
    as their first letter and once dropped.
    """
    words = tokens(text)
    kept: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        after = words[i + 2] if i + 2 < len(words) else ""
        # "t for Tommy", "s 4 Freddy": the named word is surer than the letter.
        if (
            nxt in _SPELLING_LINKS
            and after.isalpha()
            and len(after) >= 3
            and (_letter_of(word) or len(word) <= 3)
            and after not in DIGIT_WORDS
        ):
            letter = NATO.get(after, after[0])
            kept.append(letter)
            dropped.append(letter)
            i += 3
            continue
        if word in ("double", "triple") and nxt:
            unit = _postcode_unit(nxt)
            if unit:
                times = 2 if word == "double" else 3
                kept.append(unit * times)
                dropped.append(unit * times)
                i += 2
                continue
        unit = _postcode_unit(word)
        if unit is not None:
            kept.append(unit)
            dropped.append(unit)
        elif word not in FILLERS:
            kept.append(word[0])
        i += 1
    readings = [_shape(("".join(kept)).upper()), _shape(("".join(dropped)).upper())]
    return _unique([r for r in readings if r])[:MAX_READINGS]


def _postcode_unit(word: str) -> str | None:
    """Letters or digits one word stands for, or None when it is not one."""
    if word.isdigit():
        return word
    if word == "oh":
        return "o"
    letter = _letter_of(word)
    if letter:
        return letter
    if word in DIGIT_WORDS and word not in ("for", "to", "too"):
        return DIGIT_WORDS[word]
    # Short runs the recogniser writes in capitals ("DJ", "LG") are letters.
    if len(word) <= 2 and word not in FILLERS:
        return word
    return None


_AS_DIGIT = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "Z": "2"})
_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B"})


def _shape(compact: str) -> str:
    """Put letters and digits where a UK postcode has them ("oh" is O or 0).

    The inward code is a digit then two letters; the first character is a
    letter. Readings too short to be a postcode are left alone.
    """
    if len(compact) < 5:
        return compact
    head = compact[0].translate(_AS_LETTER)
    middle = compact[1:-3]
    # In the outward code a letter right after the area letters is read as
    # "oh"-is-zero only when a digit is due: "WO2" -> "W02" is not done.
    inward = (
        compact[-3].translate(_AS_DIGIT)
        + compact[-2].translate(_AS_LETTER)
        + compact[-1].translate(_AS_LETTER)
    )
    return head + middle + inward


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# Names -----------------------------------------------------------------------


def name_forms(text: str) -> tuple[list[str], str]:
    """The words of a spoken name and the letters it spells, joined.

    "Katie Marshall" -> (["katie", "marshall"], "katiemarshall");
    "k a t i e" -> (["k", "a", "t", "i", "e"], "katie");
    "Mike Oscar Hotel" -> (..., "moh"). The joined form is how a spelled-out
    name is compared; the words are how a said name is.
    """
    words = [w for w in tokens(text) if w.isalpha()]
    content = [w for w in words if w not in FILLERS]
    spelled = "".join(NATO.get(w, w) for w in content)
    return content, spelled


def is_spelled(words: list[str]) -> bool:
    """Whether a name was spelled out (mostly letters) rather than said."""
    short = sum(1 for w in words if len(w) <= 2 or w in NATO)
    return len(words) >= 3 and short * 2 >= len(words)
