"""The text the detectors read: compatibility forms folded, invisible marks gone.

People paste fullwidth letters (an address in fullwidth forms), ligatures
and non-breaking spaces, and an address copied from a web page may hold a
zero-width space. The patterns and the NER model read ASCII-shaped text, so
each text is analysed in Unicode compatibility form (NFKC) with invisible
format characters removed, and every span found is mapped back onto the
original text: the whole value is replaced there, invisible marks included,
and the original is what a vault restores.
"""

import unicodedata
from dataclasses import dataclass

from cx_context.guardrails.pseudonyms import DetectedSpan

# Default-ignorable code points that are not format characters (category Cf,
# which holds zero-width spaces and joiners, soft hyphens, bidi controls, the
# byte order mark and tag characters): variation selectors, the combining
# grapheme joiner, Hangul fillers and Mongolian free variation selectors.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)


def invisible(char: str) -> bool:
    """Whether a character is drawn as nothing (a default-ignorable code point)."""
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


@dataclass(frozen=True)
class FoldedText:
    """A text as the detectors read it, and where each of its characters came from.

    `starts[i]` and `ends[i]` bound the original characters that folded
    character `i` was made from; both are empty when folding changed nothing.
    """

    original: str
    text: str
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original bounds of folded characters [start, end)."""
        if not self.starts:
            return start, end
        return self.starts[start], self.ends[end - 1]

    def original_spans(self, spans: list[DetectedSpan]) -> list[DetectedSpan]:
        """Sorted, non-overlapping spans of the folded text, on the original.

        Two spans that end inside one original character (a "㈱" folded to
        "(株)") would overlap there; the later one starts after the earlier.
        """
        if not self.starts:
            return spans
        mapped: list[DetectedSpan] = []
        for span in spans:
            start, end = self.original_span(span.start, span.end)
            if mapped and start < mapped[-1].end:
                start = mapped[-1].end
            if start < end:
                mapped.append(DetectedSpan(start, end, span.entity_type))
        return mapped


def fold(text: str) -> FoldedText:
    """Fold a text to NFKC without invisible characters, keeping the offsets."""
    if text.isascii() or (
        unicodedata.is_normalized("NFKC", text) and not any(map(invisible, text))
    ):
        return FoldedText(text, text)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    while position < len(text):
        # A base character and the combining marks after it fold together, so
        # "e" and a combining acute become one "é".
        end = position + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        cluster = "".join(c for c in text[position:end] if not invisible(c))
        folded = unicodedata.normalize("NFKC", cluster)
        pieces.append(folded)
        starts.extend([position] * len(folded))
        ends.extend([end] * len(folded))
        position = end
    return FoldedText(text, "".join(pieces), tuple(starts), tuple(ends))
