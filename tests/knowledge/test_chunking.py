"""Cutting documents by section and transcripts into overlapping windows of turns."""

import re
from itertools import pairwise

import pytest

from cx_context.knowledge.chunking import (
    Chunker,
    ChunkingConfig,
    SectionText,
    TurnText,
)

LINE = re.compile(r"\[(\d+)\] (customer|agent): (.+)")

LONG_STEP = " ".join(
    f"Refund rule {n} says the agent checks item {n} before paying."
    for n in range(1, 13)
)
# About 900 characters: several pieces at a chunk size of 200.
LONG_TURN = " ".join(f"detail{n} of the fault." for n in range(40))
SECTIONS = [
    SectionText("Overview", "Refunds go back to the card used for the purchase."),
    SectionText("Step 1: Offer Refund", LONG_STEP),
    SectionText("Step 2: Close", "Thank the customer and end the chat."),
]


def split_document(chunker):
    return chunker.split_document(
        "doc-1",
        "0123456789abcdef",
        "Refunds",
        "money back",
        SECTIONS,
        {"source": "policy"},
    )


def split_transcript(chunker, turns):
    return chunker.split_transcript("chat-1", "fedcba9876543210", turns, {})


def conversation(count: int) -> list[TurnText]:
    return [
        TurnText(n, "customer" if n % 2 else "agent", f"turn {n} says something")
        for n in range(1, count + 1)
    ]


def lines_of(chunk) -> list[tuple[int, str, str]]:
    parsed = [LINE.fullmatch(line) for line in chunk.text.split("\n")]
    assert all(parsed), chunk.text
    return [(int(m[1]), m[2], m[3]) for m in parsed]


def test_each_section_chunk_comes_from_exactly_one_section():
    chunker = Chunker(ChunkingConfig(chunk_size=200, chunk_overlap=60))

    section_chunks = [
        c for c in split_document(chunker) if c.metadata["level"] != "document"
    ]

    assert {c.metadata["section_index"] for c in section_chunks} == {0, 1, 2}
    for chunk in section_chunks:
        index = chunk.metadata["section_index"]
        section = SECTIONS[index]
        header, body = chunk.text.split("\n", 1)
        assert chunk.metadata["level"] == "section"
        assert chunk.metadata["section"] == section.heading
        assert chunk.metadata["source"] == "policy"
        assert header == f"Refunds (money back) — {section.heading}"
        assert body in section.text
        assert all(body not in other.text for other in SECTIONS if other is not section)


def test_a_document_gets_one_extra_chunk_that_stands_for_the_whole_of_it():
    chunker = Chunker(ChunkingConfig(chunk_size=200, chunk_overlap=60))

    chunks = split_document(chunker)

    whole = [c for c in chunks if c.metadata["level"] == "document"]
    assert len(whole) == 1
    assert whole[0] is chunks[-1]
    assert whole[0].id.endswith(":doc")
    assert whole[0].text == f"Refunds (money back)\n{SECTIONS[0].text}"
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_a_long_section_is_split_into_pieces_that_overlap():
    chunker = Chunker(ChunkingConfig(chunk_size=200, chunk_overlap=60))

    pieces = [
        c.text.split("\n", 1)[1]
        for c in split_document(chunker)
        if c.metadata.get("section_index") == 1
    ]

    assert len(pieces) > 2
    assert all(len(piece) <= 200 for piece in pieces)
    for before, after in pairwise(pieces):
        shared = max(n for n in range(len(after) + 1) if before.endswith(after[:n]))
        assert shared > 0, (before, after)
    joined = " ".join(pieces)
    assert all(f"Refund rule {n} " in joined for n in range(1, 13))


@pytest.mark.parametrize(
    ("window_turns", "overlap_turns"),
    [(5, 2), (3, 0), (4, 3), (8, 2)],
)
def test_transcript_windows_hold_whole_turns_and_overlap_by_the_configured_turns(
    window_turns, overlap_turns
):
    chunker = Chunker(
        ChunkingConfig(window_turns=window_turns, overlap_turns=overlap_turns)
    )
    turns = conversation(12)

    windows = [
        [number for number, _, _ in lines_of(c)]
        for c in split_transcript(chunker, turns)
    ]

    assert all(len(set(window)) <= window_turns for window in windows)
    for before, after in pairwise(windows):
        assert len(set(before) & set(after)) == overlap_turns, windows
    assert sorted({n for window in windows for n in window}) == list(range(1, 13))


def test_transcript_lines_name_turn_and_speaker_and_metadata_matches_them():
    chunker = Chunker(ChunkingConfig(window_turns=4, overlap_turns=1))
    turns = conversation(10)
    speakers = {turn.number: turn.speaker for turn in turns}

    chunks = split_transcript(chunker, turns)

    for index, chunk in enumerate(chunks):
        lines = lines_of(chunk)
        assert all(speakers[number] == speaker for number, speaker, _ in lines)
        assert chunk.metadata["turn_start"] == lines[0][0]
        assert chunk.metadata["turn_end"] == lines[-1][0]
        assert chunk.metadata["speakers"] == sorted({s for _, s, _ in lines})
        assert chunk.metadata["chunk_index"] == index


def test_when_a_turn_is_longer_than_a_chunk_then_every_piece_keeps_its_number():
    chunker = Chunker(ChunkingConfig(chunk_size=200, chunk_overlap=40, window_turns=4))
    turns = [
        TurnText(1, "customer", "my kettle broke"),
        TurnText(2, "agent", "tell me more"),
        TurnText(3, "customer", LONG_TURN),
        TurnText(4, "agent", "thanks, I will log it"),
    ]

    lines = [line for c in split_transcript(chunker, turns) for line in lines_of(c)]

    pieces = [text for number, speaker, text in lines if number == 3]
    assert len(set(pieces)) > 1
    assert all(speaker == "customer" for number, speaker, _ in lines if number == 3)
    assert all(piece in LONG_TURN for piece in pieces)
    assert all(f"detail{n} " in " ".join(pieces) for n in range(40))


def test_no_transcript_window_is_contained_in_the_window_before_it():
    chunker = Chunker(ChunkingConfig(chunk_size=200, chunk_overlap=40, window_turns=5))
    turns = [*conversation(4), TurnText(5, "customer", LONG_TURN)]

    windows = [lines_of(c) for c in split_transcript(chunker, turns)]

    for before, after in pairwise(windows):
        assert not set(after) <= set(before), windows


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"chunk_size": 0}, "chunk_size must be > 0, got 0"),
        ({"chunk_size": -5}, "chunk_size must be > 0, got -5"),
        (
            {"chunk_overlap": -1},
            "chunk_overlap must be >= 0 and < chunk_size (1000), got -1",
        ),
        (
            {"chunk_size": 100, "chunk_overlap": 100},
            "chunk_overlap must be >= 0 and < chunk_size (100), got 100",
        ),
        ({"window_turns": 0}, "window_turns must be > 0, got 0"),
        (
            {"overlap_turns": -1},
            "overlap_turns must be >= 0 and < window_turns (8), got -1",
        ),
        (
            {"window_turns": 3, "overlap_turns": 3},
            "overlap_turns must be >= 0 and < window_turns (3), got 3",
        ),
    ],
)
def test_when_a_chunking_setting_is_out_of_range_then_the_error_names_it(
    settings, message
):
    with pytest.raises(ValueError, match=re.escape(message)):
        ChunkingConfig(**settings)
