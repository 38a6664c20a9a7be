"""POST /v1/answers: questions and dialogues, streaming, and bad input."""

import json

import pytest
from fastapi.testclient import TestClient

from conftest import api_client

PROBLEM = "application/problem+json"
REFUND = "how do I get a refund for an item I returned?"


@pytest.fixture(scope="module")
def bot(sample_services):  # type: ignore[no-untyped-def]
    with api_client(sample_services, "bot") as client:
        yield client


def _events(text: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_a_dialogue_is_answered_from_its_last_user_turn(bot: TestClient) -> None:
    response = bot.post(
        "/v1/answers",
        json={
            "dialogue": [
                {"speaker": "user", "text": "Hi, I bought a shirt last week."},
                {"speaker": "agent", "text": "Thanks, how can I help with it?"},
                {"speaker": "user", "text": REFUND},
            ]
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["question"] == REFUND
    assert body["abstained"] is False
    assert body["generator"] == "extractive"
    assert body["citations"]


def test_streaming_sends_sentences_then_the_citations(bot: TestClient) -> None:
    plain = bot.post("/v1/answers", json={"question": REFUND}).json()

    response = bot.post("/v1/answers", json={"question": REFUND, "stream": True})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"sentence"}
    done = events[-1][1]
    assert [c["chunk_id"] for c in done["citations"]] == [
        c["chunk_id"] for c in plain["citations"]
    ]
    numbers = {c["number"] for c in done["citations"]}
    for _, sentence in events[:-1]:
        assert set(sentence["citations"]) <= numbers


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"question": "   "}, "question", "empty"),
        ({"question": "refund " * 1000}, "question", "characters, the limit is"),
        ({"question": REFUND, "filters": {"colour": "red"}}, "filters", "colour"),
        (
            {"dialogue": [{"speaker": "agent", "text": "Hello, can I help?"}]},
            "dialogue",
            "no user turn",
        ),
        (
            {"question": REFUND, "dialogue": [{"speaker": "user", "text": "hi"}]},
            "question",
            "not both",
        ),
        ({}, "question", "no question given"),
    ],
)
def test_bad_input_is_a_problem_naming_what_was_wrong(
    bot: TestClient, payload: dict[str, object], field: str, words: str
) -> None:
    response = bot.post("/v1/answers", json=payload)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]]
    assert words in problem["detail"]


def test_an_unreachable_language_model_still_gets_a_sourced_answer(
    sample_services,
) -> None:  # type: ignore[no-untyped-def]
    from cx_context.context.answers import Answerer
    from cx_context.context.generation import Generator, build_chat_model

    # Port 9 on loopback refuses connections: nothing leaves the machine.
    model = build_chat_model("openai", "http://127.0.0.1:9/v1", "any", None, 2, 0)
    answerer = Answerer(
        sample_services.retriever,
        sample_services.embedder,
        sample_services.redactor,
        sample_services.question_log,
        sample_services.answerer.config,
        checker=sample_services.output_checker,
        risk_log=sample_services.risk_log,
        hybrid=sample_services.hybrid_retriever,
        generator=Generator(model, 5),
    )

    answer = answerer.answer(REFUND)

    assert not answer.abstained
    assert answer.citations
    assert answer.fallback == "model_error"
    assert "not used (model_error)" in (answer.reason or "")


def test_no_question_and_no_dialogue_says_what_is_missing(bot: TestClient) -> None:
    response = bot.post("/v1/answers", json={"k": 3})

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "no question given" in detail
    assert "not both" not in detail


@pytest.mark.parametrize("turns", [51, 200, 5000])
def test_a_dialogue_over_the_turn_limit_is_refused_with_one_limit_and_message(
    bot: TestClient, turns: int
) -> None:
    dialogue = [{"speaker": "user", "text": "hi"}] * turns

    response = bot.post("/v1/answers", json={"dialogue": dialogue})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["errors"] == [
        {"field": "dialogue", "message": f"dialogue has {turns} turns, the limit is 50"}
    ]


def test_a_dialogue_at_the_turn_limit_is_answered(bot: TestClient) -> None:
    dialogue = [{"speaker": "agent", "text": "How can I help?"}] * 49
    dialogue.append({"speaker": "user", "text": REFUND})

    response = bot.post("/v1/answers", json={"dialogue": dialogue})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "payload",
    [
        {"qestion_typo": REFUND},
        {"question": REFUND, "qestion_typo": "x"},
        {"dialogue": [{"speaker": "user", "text": REFUND, "txet": "x"}]},
    ],
)
def test_an_unknown_field_is_refused_by_name(
    bot: TestClient, payload: dict[str, object]
) -> None:
    response = bot.post("/v1/answers", json=payload)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f.endswith(("qestion_typo", "txet")) for f in fields), fields
    assert "Extra inputs are not permitted" in response.json()["detail"]
