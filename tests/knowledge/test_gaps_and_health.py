"""Content gaps and content health over real stores, real models and real questions."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from conftest import api_client, make_services, run_cli
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.quantities import mask_quantities, quantities
from cx_context.knowledge.records import KnowledgeDocument, Section
from cx_context.service.wiring import Services

PIN_QUESTIONS = [
    "How do I unblock my card PIN?",
    "My PIN is blocked, what do I do?",
    "I typed the wrong PIN three times and now it is blocked",
    "Can you unlock my PIN for me?",
    "PIN blocked after too many tries",
    "How can I reset a blocked PIN?",
]
REFUND_QUESTIONS = [
    "How many days do I have to get a refund after buying something?",
    "Can I get a refund if I bring the receipt to a store?",
]


def _document(
    doc_id: str, title: str, heading: str, text: str, reviewed: datetime | None
) -> Parsed[KnowledgeDocument]:
    return Parsed(
        1,
        KnowledgeDocument(
            id=doc_id,
            title=title,
            body=[Section(heading=heading, text=text)],
            source="test",
            owner="policy team",
            reviewed_at=reviewed,
        ),
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """Three articles (two disagreeing on the refund window) and asked questions.

    Six questions on one topic are a small log: gaps are cut wider and may be
    smaller than the defaults, which were chosen for about 40 per topic.
    """
    svc = make_services(
        tmp_path_factory.mktemp("shop") / "data",
        gap_cluster_distance=0.5,
        gap_min_questions=5,
    )
    now = datetime.now(UTC)
    documents = [
        _document(
            "returns-policy",
            "Returns policy",
            "Refunds",
            "Refunds are accepted within 30 days of purchase. "
            "Bring the receipt to any of our stores.",
            now - timedelta(days=800),
        ),
        _document(
            "online-orders-faq",
            "Online orders FAQ",
            "Refunds for online orders",
            "Refunds are accepted within 14 days of purchase. "
            "Bring the receipt to any of our stores or post the item back.",
            None,
        ),
        _document(
            "delivery",
            "Delivery",
            "Delivery times",
            "Standard delivery takes 3 to 5 business days. "
            "Express delivery arrives the next working day.",
            now - timedelta(days=10),
        ),
    ]
    for document in documents:
        assert svc.ingestor.ingest_documents([document]).ok
    for question in PIN_QUESTIONS + REFUND_QUESTIONS:
        svc.answerer.answer(question)
    yield svc
    svc.close()


def test_two_articles_that_disagree_on_the_refund_window_are_a_conflict(
    shop: Services,
) -> None:
    report = shop.content_health.report()

    refund = [c for c in report.conflicts if c["kind"] == "duration"]
    assert refund, report.conflicts
    conflict = refund[0]
    sides = {conflict["a"]["document_id"], conflict["b"]["document_id"]}
    assert sides == {"returns-policy", "online-orders-faq"}
    assert {conflict["a"]["value"], conflict["b"]["value"]} == {"30 days", "14 days"}
    for side in (conflict["a"], conflict["b"]):
        assert "Refunds are accepted within" in side["text"]
        assert "Refunds are accepted within" in side["sentence"]
    # Delivery times share no sentence with the refund rules.
    assert all(
        "delivery" not in (c["a"]["document_id"], c["b"]["document_id"])
        for c in report.conflicts
    )


def test_articles_that_each_list_both_values_do_not_conflict(
    services: Services,
) -> None:
    tiers = (
        "Gold members can return an item within 90 days of purchase.\n"
        "Bronze members can return an item within 30 days of purchase."
    )
    for doc_id, title in (("store-returns", "Store returns"), ("web-returns", "Web")):
        document = _document(doc_id, title, "Returns by membership", tiers, None)
        assert services.ingestor.ingest_documents([document]).ok
    conflict = _document(
        "old-returns",
        "Old returns page",
        "Returns",
        "Gold members can return an item within 60 days of purchase.",
        None,
    )
    assert services.ingestor.ingest_documents([conflict]).ok

    conflicts = services.content_health.report().conflicts

    # Gold 90 days beside bronze 30 days in the same article is two tiers, not a
    # contradiction; the old page's 60 days for gold is one, against both.
    values = {frozenset(c["documents"]) for c in conflicts}
    assert values == {frozenset({"90 days", "60 days"})}, conflicts
    (found,) = conflicts
    assert found["pairs"] == 2
    assert sorted(found["documents"]["90 days"]) == ["store-returns", "web-returns"]
    assert found["documents"]["60 days"] == ["old-returns"]


def test_one_sentence_said_with_two_values_by_many_articles_is_one_conflict(
    services: Services,
) -> None:
    for doc_id in ("boots", "jackets", "jeans"):
        text = f"Read through the list of 8 options. Questions about {doc_id}."
        document = _document(doc_id, f"{doc_id} FAQ", "Answer", text, None)
        assert services.ingestor.ingest_documents([document]).ok
    for doc_id in ("pricing", "timing"):
        text = "Read through the list of 4 options. Storewide questions."
        document = _document(doc_id, f"{doc_id} FAQ", "Answer", text, None)
        assert services.ingestor.ingest_documents([document]).ok

    conflicts = services.content_health.report().conflicts

    (found,) = conflicts
    assert found["pairs"] == 6
    assert sorted(found["documents"]["8 options"]) == ["boots", "jackets", "jeans"]
    assert sorted(found["documents"]["4 options"]) == ["pricing", "timing"]


def test_stale_and_never_reviewed_articles_are_listed_apart(shop: Services) -> None:
    report = shop.content_health.report()

    assert [s["document_id"] for s in report.stale] == ["returns-policy"]
    assert report.stale[0]["age_days"] >= 799
    assert report.stale[0]["retrievals"] > 0
    assert [n["document_id"] for n in report.never_reviewed] == ["online-orders-faq"]


def test_a_period_with_no_questions_leaves_every_article_unused(
    shop: Services,
) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)

    report = shop.content_health.report(since=tomorrow)

    assert {u["document_id"] for u in report.unused} == {
        "returns-policy",
        "online-orders-faq",
        "delivery",
    }
    assert report.retrievals == []
    gaps = shop.gap_finder.find(since=tomorrow)
    assert gaps.gaps == [] and gaps.n_questions == 0
    assert gaps.note == "no questions stored in this period"


def test_questions_nothing_answers_become_one_named_gap_with_nearest_articles(
    shop: Services,
) -> None:
    report = shop.gap_finder.find()

    assert report.n_questions == len(PIN_QUESTIONS) + len(REFUND_QUESTIONS)
    assert len(report.gaps) == 1
    gap = report.gaps[0]
    asked = {q.id: q.question for q in shop.question_log.between()}
    assert sorted(asked[i] for i in gap.question_ids) == sorted(PIN_QUESTIONS)
    assert "pin" in gap.label.lower()
    assert len(gap.examples) == 3 and set(gap.examples) <= set(PIN_QUESTIONS)
    assert gap.outcomes == {"abstained": len(PIN_QUESTIONS)}
    assert gap.nearest_articles
    assert all(a.reason.startswith("score too low") for a in gap.nearest_articles)
    assert report.volume_over_time[0]["weak"] >= len(PIN_QUESTIONS)


def test_an_empty_store_gives_empty_well_formed_reports(services: Services) -> None:
    gaps = services.gap_finder.find().to_dict()
    health = services.content_health.report().to_dict()

    assert gaps["n_gaps"] == 0 and gaps["gaps"] == []
    assert gaps["note"] == "no questions stored in this period"
    for key in ("stale", "never_reviewed", "duplicates", "conflicts", "unused"):
        assert health[key] == []
    assert health["coverage"] == [] and health["n_documents"] == 0


def test_the_api_serves_knowledge_owners_and_refuses_other_roles(
    shop: Services,
) -> None:
    with api_client(shop, "knowledge_owner") as client:
        gaps = client.get("/v1/knowledge/gaps")
        health = client.get("/v1/knowledge/health", params={"stale_after_days": 30})
        bad = client.get(
            "/v1/knowledge/gaps",
            params={"since": "2026-02-01T00:00:00", "until": "2026-01-01T00:00:00"},
        )
        page = client.get("/ui/knowledge", params={"days": 0})
    assert gaps.status_code == 200 and gaps.json()["n_gaps"] == 1
    assert health.status_code == 200
    assert {s["document_id"] for s in health.json()["stale"]} == {"returns-policy"}
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.since"
    assert page.status_code == 200 and 'id="chart-gap-volume"' in page.text

    for role in ("bot", "agent"):
        with api_client(shop, role) as client:
            for path in ("/v1/knowledge/gaps", "/v1/knowledge/health", "/ui/knowledge"):
                refused = client.get(path)
                assert refused.status_code == 403, (role, path)
                assert refused.headers["content-type"] == "application/problem+json"


def test_the_cli_prints_tables_and_json(shop: Services, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data_dir = str(shop.settings.data_dir)
    # The CLI reads its settings from the environment: the shop's small-log ones.
    monkeypatch.setenv("CX_GAP_CLUSTER_DISTANCE", "0.5")
    monkeypatch.setenv("CX_GAP_MIN_QUESTIONS", "5")

    def run(*args: str) -> tuple[int, str, str]:
        return run_cli(data_dir, capsys, *args)

    code, out, _ = run("gaps", "--json")
    assert code == 0 and json.loads(out)["n_gaps"] == 1
    code, out, _ = run("gaps")
    assert code == 0 and "Content gaps" in out
    code, out, _ = run("health")
    assert code == 0 and "Conflicts" in out and "duration" in out
    code, _, err = run("gaps", "--since", "2026-02-01", "--until", "2026-01-01")
    assert code == 1 and "--since" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("sentence", "kind", "value"),
    [
        ("Refunds within 30 days.", "duration", 30.0),
        ("Refunds within one month.", "duration", 30.0),
        ("Refunds within 2 weeks.", "duration", 14.0),
        ("Allow 5 business days.", "duration", 5.0),
        ("The fee is $50.", "amount", 50.0),
        ("A 3% surcharge applies.", "percentage", 3.0),
        ("The offer ends March 3rd, 2027.", "date", "march 3rd, 2027"),
    ],
)
def test_quantities_are_read_and_normalised(
    sentence: str, kind: str, value: object
) -> None:
    found = quantities(sentence)

    assert [(q.kind, q.value) for q in found] == [(kind, value)]
    assert "N" in mask_quantities(sentence)


def test_a_month_and_thirty_days_agree() -> None:
    assert (
        quantities("within a month")[0].value == quantities("within 30 days")[0].value
    )
    assert quantities("5 business days")[0].unit != quantities("5 days")[0].unit
