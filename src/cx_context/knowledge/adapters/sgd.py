"""Schema-Guided Dialogue (SGD): bot conversations with dialogue acts per turn."""

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from cx_context.knowledge.adapters.base import Parsed, iter_jsonl, reject, validate
from cx_context.knowledge.records import Interaction

SOURCE_SYSTEM = "sgd"

_SPEAKERS = {"USER": "customer", "SYSTEM": "bot"}


def read_dialogues(path: Path) -> Iterator[Parsed[Interaction]]:
    for line, data, problem in iter_jsonl(path):
        if problem is not None:
            yield reject(path.name, line, problem, unit="line")
            continue
        if not isinstance(data, Mapping) or "dialogue_id" not in data:
            yield reject(
                path.name, line, "not an SGD dialogue (no dialogue_id)", unit="line"
            )
            continue
        raw_turns = data.get("turns")
        if not isinstance(raw_turns, list):
            record_id = f"sgd-{data['dialogue_id']}"
            yield reject(path.name, line, "turns: expected a list", record_id, "line")
            continue
        turns = [
            {
                "speaker": _SPEAKERS.get(
                    str(turn.get("speaker")), str(turn.get("speaker"))
                ),
                "text": turn.get("utterance"),
            }
            if isinstance(turn, Mapping)
            else turn
            for turn in raw_turns
        ]
        record = {
            "id": f"sgd-{data['dialogue_id']}",
            "channel": "bot",
            "source_system": SOURCE_SYSTEM,
            "turns": turns,
            "intent": _first_intent(raw_turns),
            "outcome": _outcome(raw_turns),
        }
        yield validate(Interaction, record, path.name, line, "line")


def _frames(turns: Sequence[Any]) -> Iterator[Mapping[str, Any]]:
    for turn in turns:
        if isinstance(turn, Mapping):
            for frame in turn.get("frames") or []:
                if isinstance(frame, Mapping):
                    yield frame


def _first_intent(turns: Sequence[Any]) -> str | None:
    for frame in _frames(turns):
        intent = (frame.get("state") or {}).get("active_intent")
        if intent and intent != "NONE":
            return f"{frame.get('service', 'unknown')}/{intent}"
    return None


def _outcome(turns: Sequence[Any]) -> str | None:
    """The last transaction's result, from the system's NOTIFY acts."""
    outcome = None
    for frame in _frames(turns):
        for action in frame.get("actions") or []:
            act = action.get("act") if isinstance(action, Mapping) else None
            if act == "NOTIFY_SUCCESS":
                outcome = "completed"
            elif act == "NOTIFY_FAILURE":
                outcome = "failed"
    return outcome
