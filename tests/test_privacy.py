"""No ABCD scenario value reaches the data directory or the logs, by CLI or by HTTP.

The five bundled ABCD chats were played with fictional customers whose profile
(the scenario) is known. After running everything a user would run in the
demo, and the same over HTTP, with every logger at DEBUG, none of those values
may be found in any file under the data directory or in any log line.
"""

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import DIALOGUES, GUIDELINES, TEST_VAULT_KEY, api_client
from cx_context.knowledge.adapters import read_interactions
from cx_context.service.cli import main
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services


def scenario_values() -> set[str]:
    """Every identifying value of every scenario, in the forms a leak could take."""
    values: set[str] = set()
    for dialogue in json.loads(DIALOGUES.read_text()):
        personal = dialogue["scenario"]["personal"]
        order = dialogue["scenario"]["order"]
        for key in ("customer_name", "email", "username", "account_id"):
            if personal.get(key):
                values.add(personal[key])
        values.update(
            part for part in personal["customer_name"].split() if len(part) >= 4
        )
        phone = personal["phone"]
        digits = re.sub(r"\D", "", phone)
        values.update(
            {phone, digits, f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", phone[-8:]}
        )
        for key in ("order_id", "street_address", "full_address", "zip_code"):
            if order.get(key):
                values.add(order[key])
    # What one customer typed instead of the address on file.
    values.update({"9756 Primrose Street", "primrose"})
    return {value.casefold() for value in values}


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Capture every log record of every logger, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def leaks(data: bytes, values: set[str]) -> set[str]:
    lowered = data.casefold() if isinstance(data, str) else data.lower()
    return {value for value in values if value.encode() in lowered}


def test_no_scenario_value_is_stored_or_logged(
    monkeypatch, tmp_path: Path, debug_log, capsys, redactor, embedder
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CX_LOG_LEVEL", "DEBUG")  # the CLI logs everything it can
    key_file = tmp_path / "vault.key"
    key_file.write_text(TEST_VAULT_KEY)
    monkeypatch.setenv("CX_VAULT_KEY_FILE", str(key_file))
    values = scenario_values()
    assert len(values) > 40
    data_dir = tmp_path / "data"
    cli = ["--data-dir", str(data_dir)]

    stderr: list[str] = []

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as exited:
            main([*cli, *args])
        captured = capsys.readouterr()
        assert exited.value.code in (0, None), captured
        stderr.append(captured.err)
        return captured.out

    # The demo, from the command line.
    run("ingest", "knowledge", str(GUIDELINES))
    run("customers", "import", str(DIALOGUES), "--format", "abcd")
    run("ingest", "interactions", str(DIALOGUES), "--format", "abcd")
    shown = [
        run("customers", "show", "abcd-customer-3592"),
        run("customers", "timeline", "abcd-customer-3592"),
        run("context", "abcd-customer-3592", "--interaction", "abcd-3592", "--json"),
        run("identity", "resolve", "--name", "crystal minh", "--postcode", "75227"),
    ]
    # Re-identification shows the values to a risk lead, by design; its
    # output is left out of the check, but nothing of it may be stored or logged.
    run("reidentify", "abcd-3592", "--role", "risk", "--reason", "privacy test")
    asked = run(
        "ask",
        "I'm Crystal Minh, cminh730@email.com, order 3348917502: where is my refund?",
    )
    run("ask", "what will the weather be like in Paris tomorrow?")
    summaries = [run("summarize", f"abcd-{n}") for n in (3592, 9489, 3695, 5798, 3647)]

    # The same records over HTTP, in canonical form, with their identifiers.
    records = [p.record.model_dump(mode="json") for p in read_interactions(DIALOGUES)]
    for record in records:
        record["id"] = record["id"].replace("abcd-", "http-")
    services = Services(Settings(data_dir=data_dir))
    with api_client(services) as client:
        assert (
            client.post("/v1/interactions", json={"interactions": records}).status_code
            == 200
        )
        answer = client.post(
            "/v1/answers",
            json={"question": "This is alessandro phoenix, refund status?"},
        )
        assert answer.status_code == 200
        for record in records:
            assert (
                client.get(f"/v1/interactions/{record['id']}/summary").status_code
                == 200
            )
    services.close()

    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite3" for path in files)
    assert any("chroma" in path.parts for path in files)
    found = {
        str(path.relative_to(data_dir)): leaks(path.read_bytes(), values)
        for path in files
    }
    assert {path: hit for path, hit in found.items() if hit} == {}

    log = debug_log.getvalue() + "".join(stderr)
    assert '"level": "debug"' in log or '"level": "info"' in log, "the run logged"
    assert leaks(log.encode(), values) == set()
    assert leaks(answer.text.encode(), values) == set()
    assert leaks("".join([asked, *summaries, *shown]).encode(), values) == set()
