"""The command line, run in-process through its real entry point."""

import json
from pathlib import Path

import pytest

from conftest import DIALOGUES, GUIDELINES
from cx_context.service.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


@pytest.fixture
def data_dir(tmp_path: Path, redactor, embedder) -> str:  # type: ignore[no-untyped-def]
    return str(tmp_path / "data")


def test_ingest_ask_and_summarize_from_the_command_line(capsys, data_dir: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        capsys, "--data-dir", data_dir, "ingest", "knowledge", str(GUIDELINES)
    )
    assert code == 0
    assert "55" in out

    code, out, _ = run(
        capsys,
        "--data-dir",
        data_dir,
        "ingest",
        "interactions",
        str(DIALOGUES),
        "--format",
        "abcd",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["counts"] == {
        "added": 5,
        "unchanged": 0,
        "replaced": 0,
        "rejected": 0,
    }

    code, out, _ = run(
        capsys, "--data-dir", data_dir, "ingest", "knowledge", str(GUIDELINES), "--json"
    )
    assert json.loads(out)["counts"]["unchanged"] == 55

    code, out, _ = run(
        capsys,
        "--data-dir",
        data_dir,
        "ask",
        "how do I get a refund for an item I returned?",
    )
    assert code == 0
    assert "Sources:" in out
    assert "[1] Product Defect:" in out and "Refund" in out

    code, out, _ = run(
        capsys, "--data-dir", data_dir, "ask", "what is the weather in Paris?", "--json"
    )
    assert code == 0
    assert json.loads(out)["abstained"] is True

    code, out, _ = run(capsys, "--data-dir", data_dir, "summarize", "abcd-3592")
    assert code == 0
    assert "Why the customer made contact" in out
    assert "[turn 3]" in out
    assert "crystal" not in out.casefold()


def test_a_batch_with_bad_records_exits_non_zero_and_names_each_one(
    capsys, data_dir: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    good = {
        "id": "j-1",
        "channel": "email",
        "source_system": "crm",
        "turns": [{"speaker": "customer", "text": "Where is my order?"}],
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps(
            {**good, "id": "j-3", "turns": [{"speaker": "customer", "text": 42}]}
        ),
        json.dumps({**good, "id": "j-4", "turns": []}),
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n")

    code, out, err = run(
        capsys, "--data-dir", data_dir, "ingest", "interactions", str(path)
    )

    assert code == 1
    assert "Traceback" not in out + err
    assert "batch.jsonl: line 2: invalid JSON at column 2" in err
    assert (
        "batch.jsonl: line 3 (id j-3): turns.0.text: Input should be a valid string"
        in err
    )
    assert (
        "batch.jsonl: line 4 (id j-4): turns: List should have at least 1 item" in err
    )
    assert "│     1 │" in out  # one added


def test_an_unknown_format_is_refused_with_the_allowed_ones(
    capsys, data_dir: str
) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(
        capsys,
        "--data-dir",
        data_dir,
        "ingest",
        "interactions",
        str(DIALOGUES),
        "--format",
        "csv",
    )
    assert code == 2
    assert "'csv' is not one of 'auto', 'abcd', 'tweetsumm', 'sgd', 'jsonl'" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"Flow": {"subflows": ', "bad.json: invalid JSON at line 1, column 23"),
        ("[1, 2, 3]", "bad.json: cannot tell its format; pass --format"),
    ],
)
def test_an_unreadable_knowledge_file_is_a_one_line_error(
    capsys, data_dir: str, tmp_path: Path, content: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run(
        capsys, "--data-dir", data_dir, "ingest", "knowledge", str(path)
    )
    assert code == 1
    assert message in err
    assert "Traceback" not in out + err


def test_a_missing_interaction_and_a_bad_filter_are_clear_errors(
    capsys, data_dir: str
) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "--data-dir", data_dir, "summarize", "nope-1")
    assert (code, err.strip()) == (1, "error: no interaction with id 'nope-1'")

    code, _, err = run(
        capsys, "--data-dir", data_dir, "ask", "refund?", "--filter", "colour=red"
    )
    assert code == 1
    assert (
        "unknown filter 'colour'; allowed filters are "
        "audience, document_id, entity, owner, source, tag" in err
    )

    code, _, err = run(
        capsys, "--data-dir", data_dir, "ask", "refund?", "--filter", "audience"
    )
    assert code == 1
    assert "--filter must look like name=value, got 'audience'" in err


def test_pii_settings_come_from_the_environment_and_bad_ones_are_named(
    tmp_path, monkeypatch, capsys, redactor, embedder
) -> None:  # type: ignore[no-untyped-def]
    from cx_context.service.settings import Settings
    from cx_context.service.wiring import Services

    monkeypatch.setenv("CX_PII_PHONE_REGIONS", '["GB"]')
    monkeypatch.setenv(
        "CX_PII_ID_PATTERNS",
        '[{"entity_type": "ACCOUNT_ID", "name": "acme", '
        '"regex": "\\\\bAC-\\\\d{6}\\\\b", "score": 0.9}]',
    )
    services = Services(Settings(data_dir=tmp_path / "d"))
    text = services.redactor.redact("my ref is AC-123456 thanks").text
    assert text == "my ref is <ACCOUNT_ID_1> thanks"

    monkeypatch.setenv("CX_PII_PHONE_REGIONS", '["XX"]')
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(tmp_path / "d"), "ask", "hello there"])
    assert exited.value.code == 1
    assert "phone_regions" in capsys.readouterr().err


def test_an_export_to_a_missing_folder_is_a_clear_error(
    capsys, data_dir: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "nonexistent" / "x.jsonl"

    code, out, err = run(capsys, "--data-dir", data_dir, "risks", "export", str(target))

    assert code == 1
    assert f"cannot write the export to {target}: No such file or directory" in err
    assert "unexpected" not in err and "Traceback" not in out + err


def test_a_file_given_as_the_data_directory_is_a_clear_error(
    capsys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("hello")

    code, out, err = run(capsys, "--data-dir", str(not_a_folder), "status")

    assert code == 1
    assert f"{not_a_folder} is a file; give a directory" in err
    assert "unexpected" not in err and "Traceback" not in out + err
