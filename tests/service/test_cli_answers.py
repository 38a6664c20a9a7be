"""`cx-context ask --dialogue FILE`, run in-process through the real entry point."""

import json
from pathlib import Path

import pytest

from conftest import GUIDELINES
from cx_context.service.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_ask_answers_a_dialogue_and_names_a_bad_one(
    capsys, tmp_path: Path, redactor, embedder
) -> None:  # type: ignore[no-untyped-def]
    data = str(tmp_path / "data")
    code, _, _ = run(capsys, "--data-dir", data, "ingest", "knowledge", str(GUIDELINES))
    assert code == 0
    good = tmp_path / "dialogue.json"
    good.write_text(
        json.dumps(
            [
                {"speaker": "U", "text": "Hi, I returned a jacket last week."},
                {"speaker": "S", "text": "Thanks, how can I help?"},
                {"speaker": "U", "text": "How do I get a refund for it?"},
            ]
        )
    )
    no_user = tmp_path / "agent-only.json"
    no_user.write_text(json.dumps([{"speaker": "S", "text": "Hello, can I help?"}]))

    code, out, _ = run(
        capsys, "--data-dir", data, "ask", "--dialogue", str(good), "--json"
    )
    assert code == 0
    answer = json.loads(out)
    assert answer["question"] == "How do I get a refund for it?"
    assert answer["citations"]

    code, out, err = run(capsys, "--data-dir", data, "ask", "--dialogue", str(no_user))
    assert code != 0
    assert "no user turn" in err
    assert "Traceback" not in err

    code, _, err = run(
        capsys, "--data-dir", data, "ask", "refund?", "--dialogue", str(good)
    )
    assert code != 0
    assert "not both" in err


def test_ask_with_no_question_says_what_is_missing(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "data"), "ask")

    assert code != 0
    assert "no question given" in err
    assert "not both" not in err


def test_ask_with_a_question_and_a_dialogue_says_not_both(
    capsys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dialogue = tmp_path / "dialogue.json"
    dialogue.write_text(json.dumps([{"speaker": "U", "text": "refund?"}]))

    code, _, err = run(
        capsys,
        "--data-dir",
        str(tmp_path / "data"),
        "ask",
        "refund?",
        "--dialogue",
        str(dialogue),
    )

    assert code != 0
    assert "not both" in err
