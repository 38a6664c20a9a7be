"""Customer records from files: canonical JSONL, and the customers of ABCD dialogues.

Each reader yields one `Parsed` result per record, so a bad record is reported
with its file and position while the good ones still land.
"""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cx_context.context.records import CustomerIn
from cx_context.knowledge.adapters.base import Parsed, load_json, reject, validate
from cx_context.knowledge.adapters.jsonl import read_records
from cx_context.knowledge.errors import SourceError

SOURCE_SYSTEM = "abcd"


class CustomerFormat(StrEnum):
    AUTO = "auto"
    ABCD = "abcd"
    JSONL = "jsonl"


def read_customers(
    path: Path, fmt: CustomerFormat | str = CustomerFormat.AUTO
) -> Iterator[Parsed[CustomerIn]]:
    """Customer records from `path`.

    `auto` reads a `.jsonl` file as JSON lines, and other JSON as ABCD
    dialogues when they have a `scenario`, else as Customer records (an
    array of them, or one).
    """
    fmt = CustomerFormat(fmt)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if fmt is CustomerFormat.JSONL or (
        fmt is CustomerFormat.AUTO and path.suffix == ".jsonl"
    ):
        return read_records(path, CustomerIn)
    data = load_json(path)
    if fmt is CustomerFormat.AUTO and not _is_abcd(data):
        return _read_customer_list(path, data)
    return _abcd_customers(path, data)


def _is_abcd(data: Any) -> bool:
    """Whether JSON is ABCD dialogues (they have a scenario), not Customer records."""
    items = data if isinstance(data, list) else [data]
    return any(isinstance(item, Mapping) and "scenario" in item for item in items)


def _read_customer_list(path: Path, data: Any) -> Iterator[Parsed[CustomerIn]]:
    """Customer records from a JSON array (or one JSON object), by position."""
    items = data if isinstance(data, list) else [data]
    for position, item in enumerate(items, start=1):
        yield validate(CustomerIn, item, path.name, position)


def abcd_customer_id(dialogue: Mapping[str, Any]) -> str | None:
    """A stable id for the customer of one ABCD scenario, named after its dialogue.

    ABCD has no customer ids, and an id must never carry personal data (it is
    stored, logged and shown in the clear), so neither the username nor the
    phone number may make it. Two scenarios of the same person become two
    customers; identity resolution is what finds them to be one.
    """
    convo_id = str(dialogue.get("convo_id") or "").strip()
    return f"abcd-customer-{convo_id}" if convo_id.isalnum() else None


def read_abcd_customers(path: Path) -> Iterator[Parsed[CustomerIn]]:
    """One customer per ABCD dialogue scenario, with an open case for its intent.

    ABCD records no contact times; the case is dated at the scenario's purchase
    date, the only date the data gives, or at the start of 2020 without one.
    """
    return _abcd_customers(path, load_json(path))


def _abcd_customers(path: Path, data: Any) -> Iterator[Parsed[CustomerIn]]:
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a JSON list of ABCD dialogues")
    for position, dialogue in enumerate(data, start=1):
        scenario = dialogue.get("scenario") if isinstance(dialogue, Mapping) else None
        if not isinstance(scenario, Mapping):
            yield reject(path.name, position, "scenario: missing or not an object")
            continue
        personal = scenario.get("personal") or {}
        order = scenario.get("order") or {}
        party_id = abcd_customer_id(dialogue)
        if party_id is None:
            message = "convo_id: missing or not alphanumeric"
            yield reject(path.name, position, message)
            continue
        yield validate(
            CustomerIn,
            _customer(party_id, dialogue, scenario, personal, order),
            path.name,
            position,
        )


def _customer(
    party_id: str,
    dialogue: Mapping[str, Any],
    scenario: Mapping[str, Any],
    personal: Mapping[str, Any],
    order: Mapping[str, Any],
) -> dict[str, Any]:
    identifiers = [
        {"kind": kind, "value": str(personal[field])}
        for field, kind in (
            ("email", "email"),
            ("phone", "phone"),
            ("username", "username"),
            ("account_id", "account_number"),
        )
        if str(personal.get(field) or "").strip()
    ]
    opened = _date(order.get("purchase_date"))
    flow = str(scenario.get("flow") or "").strip()
    subflow = str(scenario.get("subflow") or "").strip()
    intent = f"{flow}/{subflow}".strip("/") or None
    record: dict[str, Any] = {
        "id": party_id,
        "source_system": SOURCE_SYSTEM,
        "name": str(personal.get("customer_name") or "").strip() or None,
        "postcode": str(order.get("zip_code") or "").strip() or None,
        "segment": str(personal.get("member_level") or "").strip() or None,
        "identifiers": identifiers,
        "cases": [],
    }
    if intent:
        record["cases"].append(
            {
                "id": f"abcd-case-{dialogue.get('convo_id')}",
                "status": "open",
                "intent": intent,
                "subject": " ".join(intent.replace("_", " ").split("/")),
                "owning_channel": "chat",
                "opened_at": opened.isoformat(),
            }
        )
    return record


def _date(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    except ValueError:
        return datetime(2020, 1, 1, tzinfo=UTC)
