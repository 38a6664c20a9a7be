"""Reading a dialogue for `cx-context ask --dialogue FILE`."""

import json
from pathlib import Path

from cx_context.knowledge.conversation import Turn
from cx_context.service.console import CliError


def read_dialogue(path: Path) -> list[Turn]:
    """Turns from a JSON list of {"speaker", "text"} objects, oldest first.

    A DSTC11-style speaker "U" is the user, "S" the service side.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"{path}: cannot be read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise CliError(
            f'{path}: expected a JSON list of {{"speaker": ..., "text": ...}} turns'
        )
    turns = []
    for position, turn in enumerate(data, start=1):
        if (
            not isinstance(turn, dict)
            or not isinstance(turn.get("speaker"), str)
            or not isinstance(turn.get("text"), str)
        ):
            raise CliError(
                f"{path}: turn {position} needs a string speaker and a string text"
            )
        speaker = str({"U": "user", "S": "agent"}.get(turn["speaker"], turn["speaker"]))
        turns.append(Turn(speaker, turn["text"]))
    return turns
