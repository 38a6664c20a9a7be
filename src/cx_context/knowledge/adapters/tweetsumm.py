"""TweetSumm: customer-care conversations on Twitter, one JSON object per line."""

from collections.abc import Iterator, Mapping
from pathlib import Path

from cx_context.knowledge.adapters.base import Parsed, iter_jsonl, reject, validate
from cx_context.knowledge.records import Interaction

SOURCE_SYSTEM = "twitter"


def read_dialogues(path: Path) -> Iterator[Parsed[Interaction]]:
    for line, data, problem in iter_jsonl(path):
        if problem is not None:
            yield reject(path.name, line, problem, unit="line")
            continue
        if not isinstance(data, Mapping) or "conversation_id" not in data:
            message = "not a TweetSumm dialogue (no conversation_id)"
            yield reject(path.name, line, message, unit="line")
            continue
        record = {
            "id": f"tweetsumm-{data['conversation_id']}",
            "channel": "social",
            "source_system": SOURCE_SYSTEM,
            "turns": data.get("turns", []),
        }
        yield validate(Interaction, record, path.name, line, "line")
