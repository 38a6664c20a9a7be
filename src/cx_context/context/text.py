"""Sentence splitting for extractive answers and summaries."""

import re

_ABBREVIATIONS = re.compile(
    r"\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|st|no|approx|incl)\.$", re.IGNORECASE
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def sentences(text: str) -> list[str]:
    """Split text into sentences; every line (and bullet) starts a new one."""
    out: list[str] = []
    for raw in text.splitlines():
        line = _BULLET.sub("", raw).strip()
        if not line:
            continue
        pending = ""
        for piece in _BOUNDARY.split(line):
            pending = f"{pending} {piece}".strip() if pending else piece.strip()
            if pending and not _ABBREVIATIONS.search(pending):
                out.append(pending)
                pending = ""
        if pending:
            out.append(pending)
    return out


def word_count(text: str) -> int:
    return len(re.findall(r"[\w<>]+", text))


_PLACEHOLDER = r"<[A-Z_]+_\d+>"
# What social and chat channels add around a message that says nothing about
# the contact: @handles, links, staff initials ("^RMD", "*AAB", "-Andy"),
# tweet counters ("1/2"), and a name placeholder in a greeting or sign-off.
_CHANNEL_NOISE = (
    (re.compile(r"(?:^|\s)@\w+"), ""),
    (re.compile(r"https?://\S+"), ""),
    (re.compile(r"\s[\^*][A-Z]{1,4}\b|\s[-–]\s?[A-Z][a-z]+\s*$|\b\d/\d\b"), ""),
    (
        re.compile(
            r"\b(hi|hello|hey|thanks|thank you|dear|sorry|welcome|morning|evening|"
            r"afternoon|no problem)[ ,]+" + _PLACEHOLDER,
            re.IGNORECASE,
        ),
        r"\1",
    ),
    (re.compile(r"(?:^|(?<=[.!?]))\s*[-–]?\s*" + _PLACEHOLDER + r"\s*[.!]?\s*$"), ""),
    (re.compile(r"(?<=[.!?])\s*" + _PLACEHOLDER + r"\s*[.!]?(?=\s)"), " "),
    (re.compile(r"[ \t]+"), " "),
)


def without_channel_noise(text: str) -> str:
    """A message without handles, links, staff initials and salutation names."""
    lines = []
    for raw in text.splitlines():
        line = raw
        for pattern, replacement in _CHANNEL_NOISE:
            line = pattern.sub(replacement, line)
        if line.strip():
            lines.append(line.strip())
    return "\n".join(lines)
