"""ABCD (Action-Based Conversations Dataset): the agent policy manual and dialogues.

The manual (`guidelines.json`) maps flows to subflows; each subflow becomes one
document whose sections are its overview and each of its action steps. A
dialogue's scenario names the customer it was played with, so those values
travel with the interaction as identifiers and are always redacted.
"""

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cx_context.knowledge.adapters.base import Parsed, load_json, reject, validate
from cx_context.knowledge.errors import SourceError
from cx_context.knowledge.records import Interaction, KnowledgeDocument

SOURCE_SYSTEM = "abcd"

_SPEAKERS = {"agent": "agent", "customer": "customer", "action": "system"}

# scenario section -> field -> identifier kind
_IDENTIFIER_FIELDS = {
    "personal": {
        "customer_name": "name",
        "email": "email",
        "phone": "phone",
        "username": "username",
        "account_id": "account_number",
    },
    "order": {
        "order_id": "order_id",
        "street_address": "street_address",
        "full_address": "street_address",
        "zip_code": "postcode",
    },
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def looks_like_guidelines(data: Any) -> bool:
    return (
        isinstance(data, Mapping)
        and bool(data)
        and all(
            isinstance(flow, Mapping) and "subflows" in flow for flow in data.values()
        )
    )


def read_guidelines(path: Path) -> Iterator[Parsed[KnowledgeDocument]]:
    data = load_json(path)
    if not looks_like_guidelines(data):
        raise SourceError(
            f"{path}: not an ABCD guidelines file "
            '(expected {"Flow": {"description": ..., "subflows": {...}}})'
        )
    position = 0
    for flow, flow_body in data.items():
        for subflow, subflow_body in flow_body["subflows"].items():
            position += 1
            doc_id = f"abcd-{slug(flow)}-{slug(subflow)}"
            if not isinstance(subflow_body, Mapping):
                yield reject(
                    path.name, position, "subflow is not a JSON object", doc_id
                )
                continue
            document = {
                "id": doc_id,
                "title": f"{flow}: {subflow}",
                "summary": str(flow_body.get("description") or "") or None,
                "body": _sections(subflow_body),
                "source": "abcd-guidelines",
                "owner": "customer-service-policy",
                "audience": "agent",
                "tags": [slug(flow), slug(subflow)],
            }
            yield validate(KnowledgeDocument, document, path.name, position)


def _bullets(lines: list[str]) -> str:
    # The manual marks sub-steps with " > "; they read better on lines of their own.
    out = []
    for line in lines:
        parts = [part.strip() for part in str(line).split(" > ")]
        out.append(f"- {parts[0]}")
        out.extend(f"  - {part}" for part in parts[1:] if part)
    return "\n".join(out)


def _sections(body: Mapping[str, Any]) -> list[dict[str, str]]:
    sections = []
    overview = [str(line) for line in body.get("instructions", [])]
    if overview:
        sections.append({"heading": "Overview", "text": "\n".join(overview)})
    for step, action in enumerate(body.get("actions", []), start=1):
        if not isinstance(action, Mapping):
            continue
        button = str(action.get("button", "")).strip()
        heading = (
            f"Step {step}: {button}" if button and button != "N/A" else f"Step {step}"
        )
        text = str(action.get("text", "")).strip()
        subtext = [str(line) for line in action.get("subtext", []) if str(line).strip()]
        if subtext:
            text = f"{text}\n{_bullets(subtext)}" if text else _bullets(subtext)
        if text and text != "x":
            sections.append({"heading": heading, "text": text})
    return sections


def read_dialogues(path: Path) -> Iterator[Parsed[Interaction]]:
    data = load_json(path)
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a JSON list of ABCD dialogues")
    for position, dialogue in enumerate(data, start=1):
        if not isinstance(dialogue, Mapping) or "original" not in dialogue:
            yield reject(
                path.name, position, "not an ABCD dialogue (no 'original' turns)"
            )
            continue
        convo_id = dialogue.get("convo_id")
        record_id = f"abcd-{convo_id}"
        original = dialogue["original"]
        malformed = next(
            (
                index
                for index, turn in enumerate(original)
                if not isinstance(turn, list | tuple) or len(turn) != 2
            ),
            None,
        )
        if malformed is not None:
            message = f"original.{malformed}: expected [speaker, text]"
            yield reject(path.name, position, message, record_id)
            continue
        turns = [
            {"speaker": _SPEAKERS.get(str(speaker), str(speaker)), "text": text}
            for speaker, text in original
        ]
        scenario = dialogue.get("scenario") or {}
        intent = None
        if scenario.get("flow"):
            intent = f"{scenario['flow']}/{scenario.get('subflow', '')}".rstrip("/")
        record = {
            "id": record_id,
            "channel": "chat",
            "source_system": SOURCE_SYSTEM,
            "customer_identifiers": _identifiers(scenario),
            "turns": turns,
            "intent": intent,
        }
        yield validate(Interaction, record, path.name, position)


def _identifiers(scenario: Mapping[str, Any]) -> list[dict[str, str]]:
    identifiers = []
    for section, fields in _IDENTIFIER_FIELDS.items():
        values = scenario.get(section) or {}
        for field, kind in fields.items():
            value = values.get(field)
            if isinstance(value, str | int) and str(value).strip():
                identifiers.append({"kind": kind, "value": str(value)})
    return identifiers
