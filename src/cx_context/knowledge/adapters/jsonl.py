"""Canonical records, one JSON object per line."""

from collections.abc import Iterator
from pathlib import Path

from cx_context.knowledge.adapters.base import Parsed, R, iter_jsonl, reject, validate


def read_records(path: Path, model: type[R]) -> Iterator[Parsed[R]]:
    for line, data, problem in iter_jsonl(path):
        if problem is not None:
            yield reject(path.name, line, problem, unit="line")
        else:
            yield validate(model, data, path.name, line, "line")
