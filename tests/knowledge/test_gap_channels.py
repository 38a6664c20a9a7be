"""Channels and handoffs: stored with each question, counted per gap, set by the API."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from conftest import api_client, make_services, run_cli
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.database import QuestionRow
from cx_context.knowledge.questions import (
    QuestionOutcome,
    UnknownQuestionError,
    parse_channel,
)
from cx_context.knowledge.records import Channel, KnowledgeDocument, Section
from cx_context.service.wiring import Services

PROBLEM = "application/problem+json"
PIN_QUESTIONS = [
    "How do I unblock my card PIN?",
    "My PIN is blocked, what do I do?",
    "I typed the wrong PIN three times and now it is blocked",
    "Can you unlock my PIN for me?",
    "PIN blocked after too many tries",
    "How can I reset a blocked PIN?",
]


def test_when_a_channel_is_given_then_it_is_stored_and_read_back(
    record_services: Services,
) -> None:
    log = record_services.question_log

    chat = log.record(
        "where is my card?", QuestionOutcome.ABSTAINED, 0.2, channel="chat"
    )
    voice = log.record("a fee?", QuestionOutcome.ANSWERED, 0.7, channel=" Voice ")
    unsaid = log.record("hello?", QuestionOutcome.ABSTAINED, None)

    stored = {q.id: q for q in log.between()}
    assert stored[chat].channel == "chat"
    assert stored[voice].channel == "voice"
    assert stored[unsaid].channel is None
    assert not any(q.escalated for q in stored.values())


def test_when_the_channel_is_unknown_then_nothing_is_stored(
    record_services: Services,
) -> None:
    log = record_services.question_log

    with pytest.raises(ValueError, match="channel must be one of voice, chat") as exc:
        log.record("where is my card?", QuestionOutcome.ABSTAINED, 0.2, channel="fax")

    assert "got 'fax'" in str(exc.value)
    assert log.between() == []
    assert parse_channel(Channel.EMAIL) is Channel.EMAIL


def test_when_a_question_is_marked_escalated_then_the_first_mark_is_kept(
    record_services: Services,
) -> None:
    log = record_services.question_log
    first = log.record("where is my card?", QuestionOutcome.ABSTAINED, 0.2)
    other = log.record("a fee?", QuestionOutcome.ANSWERED, 0.7)
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    mark = log.mark_escalated(first, by="key-1", at=when)
    again = log.mark_escalated(first, by="key-2")

    assert (mark.already, again.already) == (False, True)
    assert again.escalated_at == when and again.escalated_by == "key-1"
    stored = {q.id: q for q in log.between()}
    assert stored[first].escalated and not stored[other].escalated
    with pytest.raises(UnknownQuestionError, match="no question with id 999"):
        log.mark_escalated(999)


@pytest.fixture(scope="module")
def desk(tmp_path_factory, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """One article on delivery; PIN questions from two channels it cannot answer."""
    # Six questions on one topic: a small log (see test_gaps_and_health).
    svc = make_services(
        tmp_path_factory.mktemp("desk") / "data",
        gap_cluster_distance=0.5,
        gap_min_questions=5,
    )
    article = KnowledgeDocument(
        id="delivery",
        title="Delivery",
        body=[
            Section(
                heading="Delivery times",
                text="Standard delivery takes 3 to 5 business days. "
                "Express delivery arrives the next working day.",
            )
        ],
        source="test",
    )
    assert svc.ingestor.ingest_documents([Parsed(1, article)]).ok
    for position, question in enumerate(PIN_QUESTIONS):
        channel = Channel.CHAT if position % 2 else Channel.VOICE
        svc.answerer.answer(question, channel=channel)
    yield svc
    svc.close()


def test_the_api_stores_the_channel_and_marks_escalations(desk: Services) -> None:
    pin = [q.id for q in desk.question_log.between() if "PIN" in q.question]
    with api_client(desk, "bot") as bot:
        asked = bot.post(
            "/v1/answers",
            json={
                "question": "When does express delivery arrive?",
                "channel": "web_form",
            },
        )
        marked = bot.post(f"/v1/answers/{pin[0]}/escalation")
        again = bot.post(f"/v1/answers/{pin[0]}/escalation")
        unknown = bot.post("/v1/answers/999999/escalation")
        bad = bot.post("/v1/answers", json={"question": "hi", "channel": "fax"})
    with api_client(desk, "agent") as agent:
        by_agent = agent.post(f"/v1/answers/{pin[1]}/escalation")
    with api_client(desk, "knowledge_owner") as owner:
        refused = owner.post(f"/v1/answers/{pin[2]}/escalation")
        report = owner.get("/v1/knowledge/gaps").json()

    assert asked.status_code == 200, asked.text
    stored = {q.id: q for q in desk.question_log.between()}
    assert stored[asked.json()["question_id"]].channel == "web_form"
    assert marked.status_code == 200 and marked.json()["already_escalated"] is False
    assert again.json()["already_escalated"] is True
    assert again.json()["escalated_at"] == marked.json()["escalated_at"]
    assert by_agent.status_code == 200
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["errors"][0]["field"] == "question_id"
    assert bad.status_code == 422 and "channel" in bad.text
    assert refused.status_code == 403

    assert [stored[i].escalated for i in pin] == [True, True] + [False] * 4
    assert report["n_gaps"] == 1, report
    gap = report["gaps"][0]
    assert sorted(gap["question_ids"]) == sorted(pin)
    assert gap["channels"] == {"voice": 3, "chat": 3}
    assert gap["escalated_share"] == pytest.approx(2 / 6, abs=1e-4)


def test_the_cli_asks_with_a_channel_and_refuses_an_unknown_one(  # type: ignore[no-untyped-def]
    desk: Services, capsys, monkeypatch
) -> None:
    data_dir = str(desk.settings.data_dir)
    monkeypatch.setenv("CX_GAP_CLUSTER_DISTANCE", "0.5")
    monkeypatch.setenv("CX_GAP_MIN_QUESTIONS", "5")

    def run(*args: str) -> tuple[int, str, str]:
        return run_cli(data_dir, capsys, *args)

    code, out, _ = run(
        "ask", "How long does express delivery take?", "--channel", "email", "--json"
    )
    assert code == 0, out
    question_id = json.loads(out)["question_id"]
    with desk.sessions() as session:
        channel = session.scalar(
            select(QuestionRow.channel).where(QuestionRow.id == question_id)
        )
    assert channel == "email"

    code, _, err = run("ask", "Where is my parcel?", "--channel", "fax")
    assert code == 2 and "--channel" in err and "Traceback" not in err

    code, out, _ = run("gaps", "--json")
    assert code == 0
    assert json.loads(out)["gaps"][0]["channels"] == {"voice": 3, "chat": 3}
    code, out, _ = run("gaps")
    assert code == 0 and "channels" in out and "voice 3" in out
