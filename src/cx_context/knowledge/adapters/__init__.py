"""Adapters from public and canonical formats to the canonical records.

Each reader yields `Parsed` items in input order: a record, or the problem that
kept it out together with its position, so one bad record never stops a batch.
"""

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from cx_context.knowledge.adapters import abcd, dstc11, jsonl, sgd, tweetsumm
from cx_context.knowledge.adapters.base import Parsed, load_json
from cx_context.knowledge.errors import SourceError
from cx_context.knowledge.records import Interaction, KnowledgeDocument


class KnowledgeFormat(StrEnum):
    AUTO = "auto"
    ABCD = "abcd"
    DSTC11 = "dstc11"
    JSONL = "jsonl"


class InteractionFormat(StrEnum):
    AUTO = "auto"
    ABCD = "abcd"
    TWEETSUMM = "tweetsumm"
    SGD = "sgd"
    JSONL = "jsonl"


def _first_record(path: Path) -> object:
    """The first line of a JSONL file that parses, or None."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    try:
                        return json.loads(line)
                    except json.JSONDecodeError:
                        continue
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read as text ({exc})") from None
    return None


def _head(path: Path) -> str:
    """The first non-blank character of a file."""
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.read(256).lstrip()[:1]
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read as text ({exc})") from None


def detect_knowledge_format(path: Path) -> KnowledgeFormat:
    if path.suffix == ".jsonl":
        return KnowledgeFormat.JSONL
    data = load_json(path)
    if abcd.looks_like_guidelines(data):
        return KnowledgeFormat.ABCD
    if dstc11.looks_like_dstc11(data):
        return KnowledgeFormat.DSTC11
    raise SourceError(
        f"{path}: cannot tell its format; pass --format with one of "
        + ", ".join(f.value for f in KnowledgeFormat if f is not KnowledgeFormat.AUTO)
    )


def detect_interaction_format(path: Path) -> InteractionFormat:
    first = _first_record(path) if path.suffix == ".jsonl" else None
    if isinstance(first, dict):
        if "conversation_id" in first:
            return InteractionFormat.TWEETSUMM
        if "dialogue_id" in first:
            return InteractionFormat.SGD
        return InteractionFormat.JSONL
    if path.suffix == ".json" and _head(path) == "[":
        return InteractionFormat.ABCD
    raise SourceError(
        f"{path}: cannot tell its format; pass --format with one of "
        + ", ".join(
            f.value for f in InteractionFormat if f is not InteractionFormat.AUTO
        )
    )


def read_knowledge(
    path: Path, fmt: KnowledgeFormat = KnowledgeFormat.AUTO
) -> Iterator[Parsed[KnowledgeDocument]]:
    if fmt is KnowledgeFormat.AUTO:
        fmt = detect_knowledge_format(path)
    if fmt is KnowledgeFormat.ABCD:
        return abcd.read_guidelines(path)
    if fmt is KnowledgeFormat.DSTC11:
        return dstc11.read_knowledge(path)
    return jsonl.read_records(path, KnowledgeDocument)


def read_interactions(
    path: Path, fmt: InteractionFormat = InteractionFormat.AUTO
) -> Iterator[Parsed[Interaction]]:
    if fmt is InteractionFormat.AUTO:
        fmt = detect_interaction_format(path)
    if fmt is InteractionFormat.ABCD:
        return abcd.read_dialogues(path)
    if fmt is InteractionFormat.TWEETSUMM:
        return tweetsumm.read_dialogues(path)
    if fmt is InteractionFormat.SGD:
        return sgd.read_dialogues(path)
    return jsonl.read_records(path, Interaction)


__all__ = [
    "InteractionFormat",
    "KnowledgeFormat",
    "Parsed",
    "detect_interaction_format",
    "detect_knowledge_format",
    "read_interactions",
    "read_knowledge",
]
