"""The customer-record commands, run in-process as a user would type them."""

import json
from pathlib import Path

import pytest

from conftest import DIALOGUES, GUIDELINES, TEST_VAULT_KEY
from cx_context.service.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch, redactor, embedder) -> str:  # type: ignore[no-untyped-def]
    key = tmp_path / "vault.key"
    key.write_text(TEST_VAULT_KEY)
    monkeypatch.setenv("CX_VAULT_KEY_FILE", str(key))
    return str(tmp_path / "data")


def test_the_demo_flow_links_chats_to_customers_and_assembles_a_context(
    capsys, data_dir
):
    d = ["--data-dir", data_dir]
    assert run(capsys, *d, "ingest", "knowledge", str(GUIDELINES))[0] == 0
    code, out, _ = run(capsys, *d, "customers", "import", str(DIALOGUES))
    assert (code, out.strip()) == (0, "customers stored: 5, rejected: 0")
    code, out, _ = run(capsys, *d, "ingest", "interactions", str(DIALOGUES), "--json")
    assert code == 0 and json.loads(out)["customer_links"] == {
        "linked": 5,
        "unlinked": 0,
    }

    code, out, _ = run(
        capsys,
        *d,
        "context",
        "abcd-customer-3592",
        "--interaction",
        "abcd-3592",
        "--json",
    )
    bundle = json.loads(out)
    assert code == 0
    assert bundle["items"][0]["kind"] == "identity"
    passages = [i for i in bundle["items"] if i["kind"] == "passage"]
    assert passages[0]["provenance"]["record_id"] == (
        "abcd-product-defect-return-due-to-size"
    )

    code, out, _ = run(capsys, *d, "customers", "timeline", "abcd-customer-3592")
    assert code == 0 and "abcd-3592" in out
    # The agent only offers to escalate ("I can escalate to my manager if you'd
    # like") and then lets the manager know: nobody took the customer over.
    assert "agent_transfer" not in out
    code, out, _ = run(
        capsys, *d, "identity", "resolve", "--name", "crystal minh", "--json"
    )
    assert json.loads(out)["status"] == "ambiguous"


def test_bad_customers_and_events_are_named_and_exit_1(capsys, data_dir, tmp_path):
    d = ["--data-dir", data_dir]
    batch = tmp_path / "customers.jsonl"
    batch.write_text(
        json.dumps({"id": "c-1", "source_system": "crm"})
        + "\n{oops\n"
        + json.dumps({"id": "c-2", "source_system": "crm", "kind": "robot"})
        + "\n"
    )
    code, out, err = run(capsys, *d, "customers", "import", str(batch))
    assert code == 1
    assert "customers stored: 1, rejected: 2" in out
    assert "line 2" in err and "line 3 (id c-2): kind" in err
    assert "Traceback" not in err

    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"id": "e-1", "type": "cx.case.opened"}]))
    code, out, err = run(capsys, *d, "events", "apply", str(events))
    assert code == 1 and "missing required attribute(s): source, time" in err

    code, _, err = run(capsys, *d, "customers", "show", "nobody")
    assert code == 1 and "no customer with id 'nobody'" in err


def test_without_a_vault_key_the_customer_commands_say_how_to_make_one(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.delenv("CX_VAULT_KEY", raising=False)
    monkeypatch.delenv("CX_VAULT_KEY_FILE", raising=False)
    code, _, err = run(
        capsys, "--data-dir", str(tmp_path / "d"), "customers", "show", "x"
    )
    assert code == 1 and "cx-context vault new-key" in err

    key_file = tmp_path / "k"
    assert run(capsys, "vault", "new-key", "--out", str(key_file))[0] == 0
    assert oct(key_file.stat().st_mode)[-3:] == "600"
    code, _, err = run(capsys, "vault", "new-key", "--out", str(key_file))
    assert code == 1 and "refusing to overwrite" in err


def _cloud_event(event_id: str, party: str) -> str:
    return json.dumps(
        {
            "id": event_id,
            "source": "crm",
            "type": "cx.consent.changed",
            "time": "2024-05-01T00:00:00Z",
            "data": {
                "party_id": party,
                "consent": {
                    "purpose": "marketing",
                    "status": "granted",
                    "decided_at": "2024-05-01T00:00:00Z",
                },
            },
        }
    )


def test_events_apply_rejects_only_the_bad_lines_of_a_jsonl_file(
    capsys, data_dir, tmp_path
):
    d = ["--data-dir", data_dir]
    customers = tmp_path / "customers.jsonl"
    customers.write_text(json.dumps({"id": "c-1", "source_system": "crm"}) + "\n")
    run(capsys, *d, "customers", "import", str(customers))
    events = tmp_path / "events.jsonl"
    events.write_text(
        _cloud_event("e-1", "c-1") + "\n{broken json\n\n" + _cloud_event("e-3", "c-1")
    )

    code, out, err = run(capsys, *d, "events", "apply", str(events))

    assert code == 1
    assert "applied: 2, duplicate: 0, rejected: 1" in out
    assert "rejected events.jsonl: line 2" in err and "invalid JSON" in err
    code, out, _ = run(capsys, *d, "customers", "show", "c-1", "--json")
    assert json.loads(out)["consents"][0]["status"] == "granted"


def test_customers_import_reads_a_json_array_of_customer_records(
    capsys, data_dir, tmp_path
):
    records = tmp_path / "customers.json"
    records.write_text(
        json.dumps(
            [
                {"id": "c-1", "source_system": "crm"},
                {"id": "c-2", "source_system": "crm", "kind": "robot"},
            ]
        )
    )

    code, out, err = run(
        capsys, "--data-dir", data_dir, "customers", "import", str(records)
    )

    assert code == 1
    assert "customers stored: 1, rejected: 1" in out
    assert "record 2 (id c-2): kind" in err
    assert "scenario" not in err


def test_customers_sharing_an_identifier_merge_from_the_command_line(
    capsys, data_dir, tmp_path
):
    d = ["--data-dir", data_dir]
    phone = [{"kind": "phone", "value": "0412 555 019"}]
    customers = tmp_path / "customers.jsonl"
    customers.write_text(
        "\n".join(
            json.dumps({"id": party, "source_system": "crm", "identifiers": phone})
            for party in ("c-1", "c-3")
        )
    )
    run(capsys, *d, "customers", "import", str(customers))

    code, out, err = run(capsys, *d, "customers", "merge", "c-1", "c-3", "--by", "t")

    assert code == 0, err
    assert "merged c-3 into c-1 (merge 1)" in out
    code, out, _ = run(capsys, *d, "customers", "unmerge", "1", "--by", "t")
    assert code == 0
