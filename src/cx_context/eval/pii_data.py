"""Labelled PII data for `cx-context eval pii`: presidio-research, ABCD and EVI.

A dataset is a list of scopes. A scope is the texts redacted together (one
record of a presidio-research file; every turn of an ABCD dialogue, as
ingestion redacts them), and only its texts marked `scored` are measured.
"""

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PiiDataError(ValueError):
    """A labelled PII file does not have the shape it must have."""


@dataclass(frozen=True)
class GoldSpan:
    entity_type: str
    start: int
    end: int


@dataclass(frozen=True)
class GoldText:
    text: str
    spans: tuple[GoldSpan, ...] = ()
    scored: bool = True
    speaker: str = "customer"


@dataclass(frozen=True)
class Scope:
    texts: tuple[GoldText, ...]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PiiDataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PiiDataError(f"{path}: must be UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise PiiDataError(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def load_presidio_research(path: Path) -> list[Scope]:
    """Records with `full_text` and `spans` of `entity_type`, `start_position`,
    `end_position` (end exclusive), as presidio-research writes them."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise PiiDataError(
            f"{path}: must be a JSON list of records, got {type(data).__name__}"
        )
    scopes = []
    for number, record in enumerate(data):
        where = f"{path}: record {number}"
        if not isinstance(record, dict) or not isinstance(record.get("full_text"), str):
            raise PiiDataError(f"{where}: full_text must be a string")
        text: str = record["full_text"]
        spans = []
        for index, span in enumerate(record.get("spans") or []):
            try:
                start, end = int(span["start_position"]), int(span["end_position"])
                entity_type = str(span["entity_type"])
            except (KeyError, TypeError, ValueError):
                raise PiiDataError(
                    f"{where}: spans.{index} must have entity_type, start_position "
                    f"and end_position, got {span!r}"
                ) from None
            if not 0 <= start < end <= len(text):
                raise PiiDataError(
                    f"{where}: spans.{index} must lie within the text "
                    f"(0..{len(text)}), got {start}..{end}"
                )
            spans.append(GoldSpan(entity_type, start, end))
        scopes.append(Scope((GoldText(text, tuple(spans)),)))
    return scopes


# Scenario fields that the customer may type, and the type each is scored as.
ABCD_FIELDS = {
    ("personal", "customer_name"): "PERSON",
    ("personal", "email"): "EMAIL_ADDRESS",
    ("personal", "phone"): "PHONE_NUMBER",
    ("personal", "username"): "USERNAME",
    ("personal", "account_id"): "ACCOUNT_ID",
    ("order", "order_id"): "ORDER_ID",
    ("order", "street_address"): "STREET_ADDRESS",
    ("order", "zip_code"): "POSTCODE",
}


def _occurrences(text: str, value: str, entity_type: str) -> list[tuple[int, int]]:
    if entity_type == "PHONE_NUMBER":
        digits = re.sub(r"\D", "", value)
        if len(digits) < 7:
            return []
        pattern = r"[\s().+-]*".join(digits)
        return [(m.start(), m.end()) for m in re.finditer(pattern, text)]
    escaped = r"\s+".join(re.escape(word) for word in value.split())
    return [
        (m.start(), m.end())
        for m in re.finditer(rf"(?<!\w){escaped}(?!\w)", text, re.IGNORECASE)
    ]


def load_abcd(path: Path) -> list[Scope]:
    """ABCD dialogues; gold spans are where a scenario value occurs in a
    customer turn. Agent and system turns are redacted with them, unscored."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise PiiDataError(
            f"{path}: must be a JSON list of ABCD dialogues, got {type(data).__name__}"
        )
    scopes = []
    for number, dialogue in enumerate(data):
        where = f"{path}: dialogue {number}"
        try:
            scenario = dialogue["scenario"]
            turns = [
                (str(speaker), str(text)) for speaker, text in dialogue["original"]
            ]
        except (KeyError, TypeError, ValueError):
            raise PiiDataError(
                f"{where}: must have scenario and original [[speaker, text], ...]"
            ) from None
        values = [
            (entity_type, str(scenario.get(section, {}).get(key) or "").strip())
            for (section, key), entity_type in ABCD_FIELDS.items()
        ]
        texts = []
        for speaker, text in turns:
            spans = []
            if speaker == "customer":
                for entity_type, value in values:
                    if len(value) >= 3:
                        spans += [
                            GoldSpan(entity_type, start, end)
                            for start, end in _occurrences(text, value, entity_type)
                        ]
            texts.append(
                GoldText(
                    text, tuple(spans), scored=speaker == "customer", speaker=speaker
                )
            )
        scopes.append(Scope(tuple(texts)))
    return scopes


# EVI holds only what the callers said; the bot's side is ours, in a few
# wordings so that no single phrasing is what is measured.
EVI_ITEMS = {"postcode": "POSTCODE", "name": "PERSON", "dob": "DATE_OF_BIRTH"}
_EVI_PROMPTS = {
    "postcode": (
        "Please tell me your postcode.",
        "To find your account, what's your postcode?",
        "Can you give me the postcode on the account?",
    ),
    "name": (
        "Thanks. What is your full name?",
        "Could I take your first and last name?",
        "And who am I speaking with today?",
    ),
    "dob": (
        "And what is your date of birth?",
        "Can you confirm your date of birth for me?",
        "Lastly, when were you born?",
    ),
}
_EVI_RETRY = "Sorry, I didn't catch that. "


def load_evi(path: Path) -> list[Scope]:
    """EVI calls, one scope each: a bot prompt before every caller turn.

    `path` is the evi-identity folder or its dialogues.en.tsv. The gold span of
    a caller turn is the whole of its speech-recognition text (the 1-best),
    typed by the item asked for; a few turns hold no value ("my postcode"),
    so no system reaches a recall of 1.
    """
    tsv = path / "dialogues.en.tsv" if path.is_dir() else path
    try:
        with tsv.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except FileNotFoundError:
        raise PiiDataError(f"{tsv}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PiiDataError(f"{tsv}: must be UTF-8 text ({exc.reason})") from None
    dialogues: dict[str, list[dict[str, str]]] = {}
    for number, row in enumerate(rows, start=2):
        if row.get("item") not in EVI_ITEMS or "transcription" not in row:
            raise PiiDataError(
                f"{tsv}: line {number}: item must be one of "
                f"{', '.join(EVI_ITEMS)} and transcription present, got "
                f"item {row.get('item')!r}"
            )
        dialogues.setdefault(row["dialogue_id"], []).append(row)
    scopes = []
    for dialogue_id, turns in dialogues.items():
        wording = hashlib.sha256(dialogue_id.encode()).digest()[0] % 3
        texts = []
        for row in sorted(turns, key=lambda r: int(r["turn_num"])):
            said = row["transcription"].strip()
            if not said:
                continue
            prompt = _EVI_PROMPTS[row["item"]][wording]
            if row["attempt_num"] not in ("", "0"):
                prompt = _EVI_RETRY + prompt
            texts.append(GoldText(prompt, scored=False, speaker="bot"))
            gold = GoldSpan(EVI_ITEMS[row["item"]], 0, len(said))
            texts.append(GoldText(said, (gold,)))
        if texts:
            scopes.append(Scope(tuple(texts)))
    return scopes
