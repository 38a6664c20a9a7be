"""The canonical records refuse what cannot be true, naming the field."""

from datetime import UTC, datetime, timedelta

import pytest

from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.records import Interaction, KnowledgeDocument

FUTURE = "2099-05-05T00:00:00Z"


def _chat(said_at: str | None = None, **extra: object) -> dict[str, object]:
    turn = {"speaker": "customer", "text": "Where is my order?"}
    if said_at is not None:
        turn["timestamp"] = said_at
    return {
        "id": "chat-1",
        "channel": "chat",
        "source_system": "web",
        "turns": [{"speaker": "agent", "text": "Hello"}, turn],
        **extra,
    }


def _article(**extra: object) -> dict[str, object]:
    return {
        "id": "doc-1",
        "title": "Refunds",
        "source": "manual",
        "body": [{"heading": "Policy", "text": "Refunds take 5 days."}],
        **extra,
    }


@pytest.mark.parametrize(
    ("model", "record", "field"),
    [
        (Interaction, _chat(said_at=FUTURE), "turns.1.timestamp"),
        (Interaction, _chat(ended_at=FUTURE), "ended_at"),
        (KnowledgeDocument, _article(reviewed_at=FUTURE), "reviewed_at"),
    ],
)
def test_a_time_in_the_future_is_rejected_naming_the_field(model, record, field):
    parsed = validate(model, record, "test.jsonl", 1, "line")

    assert parsed.record is None and parsed.problem is not None
    message = parsed.problem.message
    assert field in message and "is in the future" in message, message


def test_a_time_within_the_clock_skew_of_a_source_system_is_accepted():
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()

    chat = validate(Interaction, _chat(said_at=soon), "t", 1)
    article = validate(KnowledgeDocument, _article(reviewed_at=soon), "t", 1)

    assert chat.problem is None and article.problem is None
