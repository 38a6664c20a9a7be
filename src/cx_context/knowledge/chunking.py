"""Cutting redacted records into passages for embedding.

Knowledge documents are cut section by section, so a passage never mixes two
sections and its citation can name the one it came from. Transcripts are cut
into windows of whole turns that overlap by a few turns; every line keeps its
turn number and speaker, so a passage can be cited down to the turn.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

MetadataValue = str | int | float | bool | list[str]


@dataclass(frozen=True)
class ChunkingConfig:
    chunk_size: int = 1000
    chunk_overlap: int = 150
    window_turns: int = 8
    overlap_turns: int = 2

    def __post_init__(self) -> None:
        if self.chunk_size <= 0:
            raise ValueError(f"chunk_size must be > 0, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be >= 0 and < chunk_size ({self.chunk_size}), "
                f"got {self.chunk_overlap}"
            )
        if self.window_turns <= 0:
            raise ValueError(f"window_turns must be > 0, got {self.window_turns}")
        if not 0 <= self.overlap_turns < self.window_turns:
            raise ValueError(
                f"overlap_turns must be >= 0 and < window_turns ({self.window_turns}), "
                f"got {self.overlap_turns}"
            )


@dataclass(frozen=True)
class Chunk:
    """One passage: the text that is embedded and stored, and where it came from."""

    id: str
    text: str
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


@dataclass(frozen=True)
class SectionText:
    heading: str
    text: str


@dataclass(frozen=True)
class TurnText:
    number: int
    speaker: str
    text: str


def chunk_id(record_id: str, content_hash: str, index: int) -> str:
    return f"{record_id}:{content_hash[:12]}:{index:04d}"


def document_vector_id(record_id: str, content_hash: str) -> str:
    """The id of the vector that stands for one version of a document as a whole."""
    return f"{record_id}:{content_hash[:12]}:doc"


def version_of(chunk: str) -> str:
    """The record and version part of a chunk id: `record:hash` of `record:hash:i`.

    Both halves of a chunk id's tail are free of colons, so a record id that
    holds colons of its own survives.
    """
    return chunk.rsplit(":", 1)[0]


def record_of(chunk: str) -> str:
    """The record a chunk id belongs to."""
    return chunk.rsplit(":", 2)[0]


def document_vector_of(chunk: str) -> str:
    """The document vector of the document version a passage's id belongs to."""
    return f"{version_of(chunk)}:doc"


class Chunker:
    def __init__(self, config: ChunkingConfig | None = None) -> None:
        self.config = config or ChunkingConfig()
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.config.chunk_size,
            chunk_overlap=self.config.chunk_overlap,
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",
            strip_whitespace=True,
        )
        # Room for the "[123] customer: " prefix of a transcript line.
        self._turn_splitter = RecursiveCharacterTextSplitter(
            chunk_size=max(self.config.chunk_size - 32, 1),
            chunk_overlap=min(
                self.config.chunk_overlap, max(self.config.chunk_size - 33, 0)
            ),
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",
            strip_whitespace=True,
        )

    @property
    def fingerprint(self) -> str:
        c = self.config
        sizes = (c.chunk_size, c.chunk_overlap, c.window_turns, c.overlap_turns)
        return "chunks:" + "/".join(map(str, sizes))

    def split_document(
        self,
        record_id: str,
        content_hash: str,
        title: str,
        summary: str | None,
        sections: Sequence[SectionText],
        base_metadata: dict[str, MetadataValue],
    ) -> list[Chunk]:
        # Each passage starts with a header line naming its document, what the
        # document is about and its section, so a step such as "Offer Refund"
        # is embedded in the context of its procedure. The header is not part
        # of the passage body that answers quote.
        about = f" ({summary})" if summary else ""
        chunks: list[Chunk] = []
        for section_index, section in enumerate(sections):
            for piece in self._splitter.split_text(section.text):
                metadata: dict[str, MetadataValue] = {
                    **base_metadata,
                    "level": "section",
                    "section": section.heading,
                    "section_index": section_index,
                    "chunk_index": len(chunks),
                }
                text = f"{title}{about} — {section.heading}\n{piece}"
                chunks.append(
                    Chunk(
                        chunk_id(record_id, content_hash, len(chunks)), text, metadata
                    )
                )
        # One more vector stands for the document as a whole (its title, what it
        # is about and its opening section). Retrieval weighs each section by how
        # well its document matches too, so a step like "Offer Refund" ranks
        # higher inside the refund procedure than inside the cancellation one.
        opening = sections[0].text[: self.config.chunk_size] if sections else ""
        chunks.append(
            Chunk(
                document_vector_id(record_id, content_hash),
                f"{title}{about}\n{opening}",
                {**base_metadata, "level": "document", "chunk_index": len(chunks)},
            )
        )
        return chunks

    def split_transcript(
        self,
        record_id: str,
        content_hash: str,
        turns: Sequence[TurnText],
        base_metadata: dict[str, MetadataValue],
    ) -> list[Chunk]:
        # Each turn becomes one or more lines; a turn longer than a chunk is cut
        # by the text splitter and each piece keeps the turn's number.
        lines: list[tuple[int, str, str]] = []
        for turn in turns:
            prefix = f"[{turn.number}] {turn.speaker}: "
            pieces = (
                [turn.text]
                if len(prefix) + len(turn.text) <= self.config.chunk_size
                else self._turn_splitter.split_text(turn.text)
            )
            lines += [(turn.number, turn.speaker, prefix + piece) for piece in pieces]

        def fits(window: Sequence[tuple[int, str, str]]) -> bool:
            size = sum(len(line[2]) + 1 for line in window) - 1
            turns_in = {line[0] for line in window}
            return (
                len(turns_in) <= self.config.window_turns
                and size <= self.config.chunk_size
            )

        windows: list[list[tuple[int, str, str]]] = []
        start = 0
        while start < len(lines):
            end = start + 1  # a window always holds at least one line
            while end < len(lines) and fits(lines[start : end + 1]):
                end += 1
            windows.append(lines[start:end])
            if end >= len(lines):
                break
            # The next window repeats the last `overlap_turns` whole turns of
            # this one, as far as they fit beside the next new line.
            next_start, stepped = end, 0
            while stepped < self.config.overlap_turns:
                turn_number = lines[next_start - 1][0]
                candidate = next_start
                while candidate > start + 1 and lines[candidate - 1][0] == turn_number:
                    candidate -= 1
                if candidate == next_start or not fits(lines[candidate : end + 1]):
                    break
                next_start, stepped = candidate, stepped + 1
            start = next_start

        chunks = []
        for index, window in enumerate(windows):
            metadata: dict[str, MetadataValue] = {
                **base_metadata,
                "turn_start": window[0][0],
                "turn_end": window[-1][0],
                "speakers": sorted({line[1] for line in window}),
                "chunk_index": index,
            }
            text = "\n".join(line[2] for line in window)
            chunks.append(
                Chunk(chunk_id(record_id, content_hash, index), text, metadata)
            )
        return chunks
