"""Handoff, wrap-up and draft over HTTP (problems, roles, events) and the CLI."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import DIALOGUES, GUIDELINES, TEST_VAULT_KEY, api_client, make_services
from cx_context.context.records import CaseIn
from cx_context.service.cli import main
from cx_context.service.wiring import Services

REFUND_CHAT = "abcd-9489"
REFUND_CUSTOMER = "abcd-customer-9489"


@pytest.fixture(scope="module")
def abcd(
    tmp_path_factory: pytest.TempPathFactory, redactor: Any, embedder: Any
) -> Iterator[Services]:
    from cx_context.context.customer_sources import read_customers
    from cx_context.knowledge.adapters import read_interactions, read_knowledge

    svc = make_services(Path(tmp_path_factory.mktemp("agents")) / "data")
    assert svc.ingestor.ingest_documents(read_knowledge(GUIDELINES)).ok
    customers = [p.record for p in read_customers(DIALOGUES) if p.record]
    assert not svc.customers.upsert_many(customers).problems
    chats = list(read_interactions(DIALOGUES))
    assert svc.ingestor.ingest_interactions(chats).ok
    svc.link_interactions([p.record for p in chats if p.record])
    yield svc
    svc.close()


def test_handoff_wrapup_and_draft_over_http(abcd: Services) -> None:
    with api_client(abcd, "agent") as client:
        handoff = client.get(f"/v1/customers/{REFUND_CUSTOMER}/handoff")
        wrapup = client.get(f"/v1/interactions/{REFUND_CHAT}/wrapup")
        draft = client.post("/v1/drafts", json={"interaction_id": REFUND_CHAT})

    assert handoff.status_code == 200, handoff.text
    assert handoff.json()["sections"]["wants"][0]["source"] == f"{REFUND_CHAT}#turn-2"
    assert wrapup.status_code == 200, wrapup.text
    assert wrapup.json()["disposition"] in abcd.settings.disposition_codes
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["case_id"] == "abcd-case-9489"
    assert {s["kind"] for s in body["sources"]} >= {"policy", "case", "turn"}


def test_a_streamed_draft_sends_its_checked_sentences_then_done(abcd: Services) -> None:
    with api_client(abcd, "agent") as client:
        plain = client.post("/v1/drafts", json={"interaction_id": REFUND_CHAT}).json()
        response = client.post(
            "/v1/drafts", json={"interaction_id": REFUND_CHAT, "stream": True}
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1][6:]),
        )
        for block in response.text.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"sentence"}
    assert (
        " ".join(
            f"{data['text']} " + "".join(f"[{n}]" for n in data["citations"])
            for name, data in events[:-1]
        )
        == plain["text"]
    )
    assert events[-1][1]["output_check"]["decision"] == "allow"


def test_each_streamed_draft_sentence_carries_its_own_citations(
    abcd: Services,
) -> None:
    with api_client(abcd, "agent") as client:
        response = client.post(
            "/v1/drafts", json={"interaction_id": "abcd-3592", "stream": True}
        )

    assert response.status_code == 200, response.text
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1][6:]),
        )
        for block in response.text.strip().split("\n\n")
    ]
    sentences = [data for name, data in events if name == "sentence"]
    checked = events[-1][1]["output_check"]["sentences"]
    assert len(sentences) == len(checked)
    for sentence, check in zip(sentences, checked, strict=True):
        assert sentence["index"] == check["index"]
        assert sentence["citations"] == check["citations"]
        assert sentence["citations"], sentence  # every composed sentence cites
        assert "[" not in sentence["text"], sentence  # no marker of another
    assert sentences[0]["text"].startswith("You told us:")


def test_an_unknown_draft_field_is_refused_by_name(abcd: Services) -> None:
    with api_client(abcd, "agent") as client:
        response = client.post(
            "/v1/drafts", json={"interaction_id": REFUND_CHAT, "strem": True}
        )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["strem"]


def test_summary_and_wrapup_are_refused_once_ai_consent_is_withdrawn(
    abcd: Services, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cx_context.context.records import ConsentIn

    monkeypatch.setenv("CX_VAULT_KEY", TEST_VAULT_KEY)

    chat = "abcd-3647"
    owner = abcd.customers.customer_of(chat)
    assert owner is not None
    with api_client(abcd, "agent") as client:
        # Made and stored while consent stands: the stored copy is not served.
        assert client.get(f"/v1/interactions/{chat}/wrapup").status_code == 200
        assert client.get(f"/v1/interactions/{chat}/summary").status_code == 200
        abcd.customers.upsert_state(
            owner,
            consents=[
                ConsentIn(
                    purpose="ai_assistance",
                    status="withdrawn",
                    decided_at=datetime.now(UTC) - timedelta(minutes=1),
                )
            ],
        )
        summary = client.get(f"/v1/interactions/{chat}/summary")
        wrapup = client.get(f"/v1/interactions/{chat}/wrapup")
        draft = client.post("/v1/drafts", json={"interaction_id": chat})

    for response in (summary, wrapup, draft):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "withdrawn AI-assistance consent" in response.json()["detail"]
    assert owner in summary.json()["detail"]
    assert "no wrap-up" in wrapup.json()["detail"]
    data = str(abcd.settings.data_dir)
    for command in ("summarize", "wrapup"):
        code, out, err = _run(capsys, "--data-dir", data, command, chat)
        assert code != 0
        assert "withdrawn AI-assistance consent" in err
        assert out == ""


def test_bad_requests_get_problem_documents(abcd: Services) -> None:
    with api_client(abcd, "agent") as client:
        missing = client.get("/v1/interactions/nope/wrapup")
        nobody = client.get("/v1/customers/nobody/handoff")
        empty = client.post("/v1/drafts", json={"interaction_id": ""})
        foreign = client.post(
            "/v1/drafts",
            json={"interaction_id": REFUND_CHAT, "customer_id": "abcd-customer-3592"},
        )
    with api_client(abcd, "bot") as client:
        bot = client.post("/v1/drafts", json={"interaction_id": REFUND_CHAT})

    for response, status in (
        (missing, 404),
        (nobody, 404),
        (empty, 422),
        (foreign, 404),
        (bot, 403),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert "nope" in missing.json()["detail"]
    assert missing.json()["detail"] == "no interaction with id 'nope'"


def test_a_draft_for_a_closed_case_is_a_conflict(abcd: Services) -> None:
    chat = "abcd-3695"
    owner = abcd.customers.customer_of(chat)
    assert owner is not None
    case = abcd.customers.get(owner).cases[0]
    abcd.customers.upsert_state(
        owner,
        cases=[
            CaseIn(
                id=case.id,
                status="resolved",
                intent=case.intent,
                opened_at=case.opened_at,
                closed_at=datetime.now(UTC) - timedelta(minutes=5),
            )
        ],
    )
    with api_client(abcd, "agent") as client:
        response = client.post("/v1/drafts", json={"interaction_id": chat})
    assert response.status_code == 409
    assert "is resolved" in response.json()["detail"]


def _run(capsys: Any, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_the_commands_print_cited_lines_and_one_line_errors(
    abcd: Services, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_VAULT_KEY", TEST_VAULT_KEY)
    data = str(abcd.settings.data_dir)

    code, out, _ = _run(capsys, "--data-dir", data, "handoff", REFUND_CUSTOMER)
    assert code == 0
    assert "What the customer wants" in out and f"[{REFUND_CHAT}#turn-2]" in out

    code, out, _ = _run(capsys, "--data-dir", data, "wrapup", REFUND_CHAT, "--json")
    assert code == 0 and json.loads(out)["interaction_id"] == REFUND_CHAT

    code, out, _ = _run(capsys, "--data-dir", data, "draft", REFUND_CHAT)
    assert code == 0
    assert "policy: Product Defect: Refund Status" in out

    code, out, err = _run(capsys, "--data-dir", data, "wrapup", "nope")
    assert code == 1 and out == ""
    assert err.strip() == "error: no interaction with id 'nope'"
    assert "Traceback" not in err
