"""Adapters from the public data sets and canonical JSONL to the canonical records."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from conftest import DIALOGUES, GUIDELINES, shared_file
from cx_context.knowledge.adapters import (
    InteractionFormat,
    KnowledgeFormat,
    detect_interaction_format,
    detect_knowledge_format,
    read_interactions,
    read_knowledge,
)
from cx_context.knowledge.errors import SourceError
from cx_context.knowledge.records import Channel, IdentifierKind, Speaker

TWEETSUMM = "tweetsumm/tweetsumm_dev600.jsonl"
SGD = "sgd-banking-payment/dialogues_banks_payment_dev_test.jsonl"
DSTC11 = "dstc11-track5/knowledge.json"


def records(parsed):
    """The records of a reader's output, after checking that none was rejected."""
    items = list(parsed)
    problems = [str(item.problem) for item in items if item.problem is not None]
    assert problems == []
    return [item.record for item in items]


def test_abcd_guidelines_become_one_document_per_subflow():
    documents = records(read_knowledge(GUIDELINES))

    assert len(documents) == 55
    assert len({doc.id for doc in documents}) == 55


def test_abcd_guideline_document_is_titled_by_flow_and_subflow_and_cut_by_step():
    manual = json.loads(GUIDELINES.read_text(encoding="utf-8"))
    documents = {doc.id: doc for doc in records(read_knowledge(GUIDELINES))}

    refund = documents["abcd-product-defect-initiate-refund"]

    assert refund.title == "Product Defect: Initiate Refund"
    assert refund.summary == manual["Product Defect"]["description"]
    assert [section.heading for section in refund.body][:3] == [
        "Overview",
        "Step 1: Pull up Account",
        "Step 2: Validate Purchase",
    ]


def test_every_abcd_guideline_document_opens_with_its_overview_then_numbered_steps():
    manual = json.loads(GUIDELINES.read_text(encoding="utf-8"))
    descriptions = {flow: body["description"] for flow, body in manual.items()}

    for doc in records(read_knowledge(GUIDELINES)):
        flow = doc.title.split(": ", 1)[0]
        assert doc.summary == descriptions[flow]
        assert doc.body[0].heading == "Overview"
        steps = [section.heading for section in doc.body[1:]]
        numbers = [int(re.fullmatch(r"Step (\d+)(: \S.*)?", h)[1]) for h in steps]
        assert numbers == list(range(1, len(steps) + 1)), doc.id


def test_abcd_dialogues_become_chat_interactions_with_system_actions():
    interactions = records(read_interactions(DIALOGUES))

    assert len(interactions) == 5
    assert {i.channel for i in interactions} == {Channel.CHAT}
    speakers = {turn.speaker for i in interactions for turn in i.turns}
    assert speakers == {Speaker.AGENT, Speaker.CUSTOMER, Speaker.SYSTEM}


def test_abcd_dialogue_carries_its_scenario_customer_and_intent():
    interactions = {i.id: i for i in records(read_interactions(DIALOGUES))}

    dialogue = interactions["abcd-3592"]

    identifiers = {(c.kind, c.value) for c in dialogue.customer_identifiers}
    assert {
        (IdentifierKind.NAME, "crystal minh"),
        (IdentifierKind.EMAIL, "cminh730@email.com"),
        (IdentifierKind.PHONE, "(977) 625-2661"),
        (IdentifierKind.USERNAME, "cminh730"),
        (IdentifierKind.ORDER_ID, "3348917502"),
    } <= identifiers
    assert dialogue.intent == "product_defect/return_size"
    system_turns = [t.text for t in dialogue.turns if t.speaker is Speaker.SYSTEM]
    assert system_turns[0] == "Account has been pulled up for Crystal Minh."


def test_tweetsumm_conversations_become_social_interactions():
    interactions = records(read_interactions(shared_file(TWEETSUMM)))

    assert len(interactions) == 600
    assert {i.channel for i in interactions} == {Channel.SOCIAL}
    assert all(i.id.startswith("tweetsumm-") for i in interactions)


def test_sgd_dialogues_become_bot_interactions_with_outcomes():
    interactions = records(read_interactions(shared_file(SGD)))

    assert len(interactions) == 283
    assert {i.channel for i in interactions} == {Channel.BOT}
    speakers = {turn.speaker for i in interactions for turn in i.turns}
    assert speakers == {Speaker.CUSTOMER, Speaker.BOT}
    assert Counter(i.outcome for i in interactions)["completed"] > 0


def test_dstc11_entities_become_faq_documents():
    path = shared_file(DSTC11)
    knowledge = json.loads(path.read_text(encoding="utf-8"))

    documents = records(read_knowledge(path))

    assert len(documents) == 143
    assert Counter(doc.tags[0] for doc in documents) == {
        "hotel": 33,
        "restaurant": 110,
    }
    hotel = next(doc for doc in documents if doc.id == "dstc11-hotel-0")
    faqs = knowledge["hotel"]["0"]["faqs"].values()
    assert hotel.title == knowledge["hotel"]["0"]["name"]
    # Records strip surrounding whitespace from every string.
    assert [(s.heading, s.text) for s in hotel.body] == [
        (faq["question"].strip(), faq["answer"].strip()) for faq in faqs
    ]


GOOD = {
    "id": "chat-1",
    "channel": "chat",
    "source_system": "crm",
    "turns": [{"speaker": "customer", "text": "hi, my parcel is late"}],
}


@pytest.fixture
def mixed_jsonl(tmp_path: Path) -> Path:
    robot = {**GOOD, "id": "chat-2", "turns": [{"speaker": "robot", "text": "beep"}]}
    no_turns = {key: value for key, value in GOOD.items() if key != "turns"}
    lines = [
        json.dumps(GOOD),
        '{"id": "broken",',
        json.dumps(robot),
        "",
        json.dumps({**no_turns, "id": "chat-3"}),
    ]
    path = tmp_path / "interactions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_when_a_jsonl_file_holds_bad_lines_then_the_good_record_still_parses(
    mixed_jsonl,
):
    parsed = list(read_interactions(mixed_jsonl))

    good = [item for item in parsed if item.record is not None]
    assert [(item.position, item.record.id) for item in good] == [(1, "chat-1")]


@pytest.mark.parametrize(
    ("line", "record_id", "message"),
    [
        (2, None, "invalid JSON at column"),
        (3, "chat-2", "turns.0.speaker: Input should be 'customer'"),
        (5, "chat-3", "turns: Field required"),
    ],
)
def test_when_a_jsonl_line_is_bad_then_its_problem_names_the_line_and_field(
    mixed_jsonl, line, record_id, message
):
    parsed = {item.position: item for item in read_interactions(mixed_jsonl)}

    item = parsed[line]

    assert item.record is None
    assert item.problem.source == "interactions.jsonl"
    assert item.problem.position == line
    assert item.problem.record_id == record_id
    assert item.problem.message.startswith(message)


def test_when_a_jsonl_file_has_a_blank_line_then_it_is_skipped(mixed_jsonl):
    positions = [item.position for item in read_interactions(mixed_jsonl)]

    assert positions == [1, 2, 3, 5]


@pytest.mark.parametrize(
    ("name", "text", "read"),
    [
        pytest.param(
            "guidelines.json",
            '{\n  "Flow": {\n    "subflows": {,}\n  }\n}\n',
            read_knowledge,
            id="knowledge",
        ),
        pytest.param(
            "dialogues.json",
            '[\n  {"original": []},\n  {"original": [,]}\n]\n',
            read_interactions,
            id="interactions",
        ),
    ],
)
def test_when_a_json_file_has_a_syntax_error_then_source_error_names_file_and_line(
    tmp_path, name, text, read
):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SourceError, match=r"invalid JSON at line 3") as raised:
        list(read(path))

    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("name", "read"),
    [
        pytest.param("missing.json", read_knowledge, id="knowledge-json"),
        pytest.param("missing.jsonl", read_knowledge, id="knowledge-jsonl"),
        pytest.param("missing.json", read_interactions, id="interactions-json"),
        pytest.param("missing.jsonl", read_interactions, id="interactions-jsonl"),
    ],
)
def test_when_a_file_is_missing_then_source_error_says_so(tmp_path, name, read):
    path = tmp_path / name

    with pytest.raises(SourceError, match="no such file"):
        list(read(path))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(lambda: GUIDELINES, KnowledgeFormat.ABCD, id="abcd"),
        pytest.param(lambda: shared_file(DSTC11), KnowledgeFormat.DSTC11, id="dstc11"),
        pytest.param(
            lambda: Path("documents.jsonl"), KnowledgeFormat.JSONL, id="jsonl"
        ),
    ],
)
def test_knowledge_format_is_detected_from_the_file(path, expected):
    assert detect_knowledge_format(path()) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(lambda: DIALOGUES, InteractionFormat.ABCD, id="abcd"),
        pytest.param(
            lambda: shared_file(TWEETSUMM), InteractionFormat.TWEETSUMM, id="tweetsumm"
        ),
        pytest.param(lambda: shared_file(SGD), InteractionFormat.SGD, id="sgd"),
    ],
)
def test_interaction_format_is_detected_from_the_file(path, expected):
    assert detect_interaction_format(path()) is expected


def test_when_a_jsonl_file_holds_canonical_records_then_its_format_is_jsonl(
    mixed_jsonl,
):
    assert detect_interaction_format(mixed_jsonl) is InteractionFormat.JSONL


@pytest.mark.parametrize(
    ("name", "text", "detect", "formats"),
    [
        pytest.param(
            "odd.json",
            '{"a": 1}',
            detect_knowledge_format,
            "abcd, dstc11, jsonl",
            id="knowledge",
        ),
        pytest.param(
            "odd.json",
            '{"a": 1}',
            detect_interaction_format,
            "abcd, tweetsumm, sgd, jsonl",
            id="interactions-json-object",
        ),
        pytest.param(
            "odd.txt",
            "hello",
            detect_interaction_format,
            "abcd, tweetsumm, sgd, jsonl",
            id="interactions-plain-text",
        ),
    ],
)
def test_when_the_format_is_unrecognisable_then_source_error_lists_the_formats(
    tmp_path, name, text, detect, formats
):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SourceError, match="cannot tell its format") as raised:
        detect(path)

    assert str(raised.value).endswith(f"one of {formats}")
