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
