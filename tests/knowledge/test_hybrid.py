"""Hybrid, conversation-aware retrieval over a small DSTC11 hotel knowledge base."""

import json

import pytest

from conftest import shared_file
from cx_context.knowledge.adapters import read_knowledge
from cx_context.knowledge.conversation import ConversationQuery, Turn
from cx_context.knowledge.entities import EntityIndex
from cx_context.knowledge.errors import InvalidDialogueError, UnknownFilterError

ACORN = "dstc11-hotel-1"
HOTELS = ("0", "1", "2", "3", "4", "5")


@pytest.fixture
def hotel_services(services, tmp_path):  # type: ignore[no-untyped-def]
    """Six DSTC11 hotels' FAQs, ingested through the real pipeline."""
    knowledge = json.loads(
        shared_file("dstc11-track5/knowledge.json").read_text(encoding="utf-8")
    )
    subset = {"hotel": {k: knowledge["hotel"][k] for k in HOTELS}}
    path = tmp_path / "hotels.json"
    path.write_text(json.dumps(subset), encoding="utf-8")
    report = services.ingestor.ingest_documents(read_knowledge(path), path.name)
    assert report.counts["added"] == len(HOTELS)
    return services


FOLLOW_UP = [
    Turn("user", "I'd like to stay at the Acorn Guest House. Is it any good?"),
    Turn("agent", "It is a lovely four star guesthouse in the north. Shall I book?"),
    Turn("user", "What about the one near the station?"),
]


def test_a_follow_up_retrieves_the_entity_named_two_turns_earlier(
    hotel_services,
) -> None:  # type: ignore[no-untyped-def]
    hybrid = hotel_services.hybrid_retriever()
    query = ConversationQuery.from_turns(FOLLOW_UP, hybrid.entities)

    result = hybrid.search(query, 5)

    assert query.entity_source == "earlier turn"
    assert [e.name for e in query.entities] == ["ACORN GUEST HOUSE"]
    assert [p.document_id for p in result.passages[:3]] == [ACORN] * 3


def test_the_answerer_answers_a_dialogue_from_the_entity_it_is_about(
    hotel_services,
) -> None:  # type: ignore[no-untyped-def]
    dialogue = [*FOLLOW_UP[:2], Turn("user", "Do they have parking for my car?")]

    answer = hotel_services.answerer.answer(dialogue=dialogue)

    assert not answer.abstained, answer.reason
    assert answer.citations[0].document_id == ACORN
    assert "park" in answer.text.casefold()
    assert answer.question == "Do they have parking for my car?"


def test_a_low_can_answer_score_abstains_once_the_threshold_is_set(
    hotel_services,
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from cx_context.context.answers import Answerer

    s = hotel_services
    strict = Answerer(
        s.retriever,
        s.embedder,
        s.redactor,
        s.question_log,
        replace(s.answerer.config, answer_threshold=0.999),
        checker=s.output_checker,
        hybrid=s.hybrid_retriever,
    )
    dialogue = [*FOLLOW_UP[:2], Turn("user", "Do they have parking for my car?")]

    answer = strict.answer(dialogue=dialogue)
    lenient = s.answerer.answer(dialogue=dialogue)

    assert answer.abstained
    assert "can-answer score" in (answer.reason or "")
    assert answer.confidence == pytest.approx(lenient.confidence)
    assert lenient.confidence is not None and 0.0 < lenient.confidence < 0.999


def test_filters_apply_to_both_rankers(hotel_services) -> None:  # type: ignore[no-untyped-def]
    hybrid = hotel_services.hybrid_retriever()

    result = hybrid.search("Can I bring my dog?", 5, {"document_id": "dstc11-hotel-3"})

    assert result.passages
    assert {p.document_id for p in result.passages} == {"dstc11-hotel-3"}
    assert {p.document_id for p in result.lexical} <= {"dstc11-hotel-3"}
    with pytest.raises(UnknownFilterError, match="unknown filter 'colour'"):
        hybrid.search("Can I bring my dog?", 5, {"colour": "red"})


def test_near_copies_do_not_fill_the_top(hotel_services) -> None:  # type: ignore[no-untyped-def]
    hybrid = hotel_services.hybrid_retriever()

    result = hybrid.search("Is there free wifi?", 5)

    bodies = [p.body.casefold() for p in result.passages]
    assert len(set(bodies)) == len(bodies)


def test_entity_names_are_found_as_people_write_them() -> None:
    index = EntityIndex(
        [
            ("ACORN GUEST HOUSE", "d1"),
            ("A AND B GUEST HOUSE", "d2"),
            ("NANDOS", "d3"),
            ("NANDOS CITY CENTRE", "d4"),
        ]
    )

    def names(text: str) -> list[str]:
        return [m.entity.name for m in index.mentions(text)]

    assert names("is the acorn guesthouse nice?") == ["ACORN GUEST HOUSE"]
    assert names("What about the Acorn?") == ["ACORN GUEST HOUSE"]
    assert names("the A & B Guest House then") == ["A AND B GUEST HOUSE"]
    assert names("Nandos city centre or just Nandos") == [
        "NANDOS CITY CENTRE",
        "NANDOS",
    ]
    assert names("a guest house in the north") == []


def test_a_dialogue_without_a_user_turn_is_refused_with_its_speakers() -> None:
    with pytest.raises(InvalidDialogueError, match=r"no user turn.*speakers: agent"):
        ConversationQuery.from_turns([Turn("agent", "Hello, how can I help?")])
    with pytest.raises(InvalidDialogueError, match="no turns"):
        ConversationQuery.from_turns([])
