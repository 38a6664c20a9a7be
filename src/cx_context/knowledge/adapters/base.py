"""What every adapter shares: reading JSON and JSONL, and validating one record."""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from cx_context.knowledge.errors import (
    RecordProblem,
    SourceError,
    describe_validation_error,
)

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Parsed(Generic[R]):
    """One record read from an input: either the record or why it was rejected."""

    position: int
    record: R | None = None
    problem: RecordProblem | None = None
    unit: str = "record"  # "line" for line-based inputs


def load_json(path: Path) -> Any:
    """Read a whole JSON file, turning every failure into a `SourceError`."""
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any | None, str | None]]:
    """Yield (line number, parsed object or None, problem or None) for each line.

    A line that is not valid JSON is reported on its own; the other lines are
    still read. Blank lines are skipped.
    """
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, expected a JSONL file") from None
    with handle:
        line_number = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path}: not UTF-8 text after line {line_number} "
                    f"(byte {exc.start})"
                ) from None
            if not line:
                return
            line_number += 1
            if not line.strip():
                continue
            try:
                yield line_number, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield (
                    line_number,
                    None,
                    f"invalid JSON at column {exc.colno}: {exc.msg}",
                )


def validate(
    model: type[R], data: Any, source: str, position: int, unit: str = "record"
) -> Parsed[R]:
    """Validate one record, describing any problem by field path."""
    if not isinstance(data, Mapping):
        problem = f"expected a JSON object, got {type(data).__name__}"
        return reject(source, position, problem, unit=unit)
    record_id = data.get("id")
    try:
        return Parsed(position, record=model.model_validate(data), unit=unit)
    except ValidationError as exc:
        message = describe_validation_error(exc)
        shown_id = record_id if isinstance(record_id, str) else None
        return reject(source, position, message, shown_id, unit)


def reject(
    source: str,
    position: int,
    message: str,
    record_id: str | None = None,
    unit: str = "record",
) -> Parsed[Any]:
    problem = RecordProblem(source, position, message, record_id, unit)
    return Parsed(position, problem=problem, unit=unit)
