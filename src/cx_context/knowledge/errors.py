"""Errors of the knowledge layer, and how a bad record is described."""

from dataclasses import dataclass

from pydantic import ValidationError


class KnowledgeError(Exception):
    """Base class for errors of the knowledge layer."""


class SourceError(KnowledgeError):
    """A whole input could not be read: missing file, invalid JSON, wrong layout."""


class UnknownFilterError(KnowledgeError):
    """A retrieval filter names a field that passages do not have."""


class InvalidDialogueError(KnowledgeError):
    """A dialogue a query cannot be built from (no turns, no user turn)."""


@dataclass(frozen=True)
class RecordProblem:
    """Why one record of an input was rejected, and where it sits in that input."""

    source: str
    position: int
    message: str
    record_id: str | None = None
    unit: str = "record"  # what position counts: records, or lines of a JSONL file

    def __str__(self) -> str:
        where = f"{self.source}: {self.unit} {self.position}"
        if self.record_id:
            where += f" (id {self.record_id})"
        return f"{where}: {self.message}"


_CHOICES = {"enum", "literal_error"}


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One readable line per problem: the field path, the rule, the value's type.

    Input values are left out on purpose, since they may be customer text;
    only a value that failed a choice among names (an enum) is echoed.
    """
    lines = []
    for problem in error.errors(include_url=False):
        path = ".".join(str(part) for part in problem["loc"]) or "record"
        if prefix:
            path = f"{prefix}.{path}" if path != "record" else prefix
        line = f"{path}: {problem['msg']}"
        value = problem.get("input")
        if problem["type"] in _CHOICES and isinstance(value, str) and len(value) <= 40:
            line += f", got {value!r}"
        lines.append(line)
    return "; ".join(lines)
