"""The knowledge owners' page in headless Chromium, over real data.

The store holds the bundled ABCD manual and chats; real customer questions
are asked through the answerer: BANKING77 test questions about card delivery,
blocked PINs and exchange rates (which the retail manual does not cover) and
questions the manual does answer.
"""

import csv
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI

from conftest import DIALOGUES, GUIDELINES, make_services, shared_file
from cx_context.knowledge.adapters import read_interactions, read_knowledge
from cx_context.service.app import create_app
from cx_context.service.wiring import Services

UNCOVERED = ("card_arrival", "pin_blocked", "exchange_rate")
# All 40 test questions of each: with the default gap settings (a cut of
# 0.3, 8 questions or more) 16 per topic made only one gap.
PER_INTENT = 40
COVERED = [
    "how do I get a refund for an item I returned?",
    "can I return jeans that are the wrong size?",
    "I want to update the shipping address on my order",
]


@pytest.fixture
def loaded(tmp_path, redactor, embedder) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    banking = shared_file("banking77/test.csv")
    svc = make_services(tmp_path / "data")
    assert svc.ingestor.ingest_documents(read_knowledge(GUIDELINES)).ok
    assert svc.ingestor.ingest_interactions(read_interactions(DIALOGUES)).ok
    with banking.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for intent in UNCOVERED:
        for row in [r for r in rows if r["category"] == intent][:PER_INTENT]:
            svc.answerer.answer(row["text"])
    for question in COVERED:
        svc.answerer.answer(question)
    yield svc
    svc.close()


def test_the_knowledge_page_shows_ranked_gaps_and_charts(  # type: ignore[no-untyped-def]
    loaded: Services,
    live_app: Callable[[FastAPI], str],
    playwright,
    browser_type_launch_args,
    artifacts,
) -> None:
    key = loaded.api_keys.create("knowledge_owner", label="browser test")
    assert key.token is not None
    url = live_app(create_app(loaded))
    browser = playwright.chromium.launch(**browser_type_launch_args, headless=True)
    try:
        context = browser.new_context(
            extra_http_headers={"Authorization": f"Bearer {key.token}"},
            viewport={"width": 1366, "height": 1000},
        )
        page = context.new_page()
        response = page.goto(f"{url}/ui/knowledge")
        assert response is not None and response.status == 200
        assert "where our content fails customers" in page.locator("h1").inner_text()

        rows = page.locator("#gaps tbody tr")
        assert rows.count() >= 2
        first = rows.first.inner_text().lower()
        assert any(word in first for word in ("card", "pin", "exchange", "rate"))
        ranks = [
            int(rows.nth(i).locator("td").first.inner_text())
            for i in range(rows.count())
        ]
        assert ranks == sorted(ranks) and ranks[0] == 1
        volumes = [
            int(rows.nth(i).locator("td").nth(2).inner_text())
            for i in range(rows.count())
        ]
        assert all(v >= loaded.gap_finder.config.min_questions for v in volumes)
        assert rows.first.locator("ul.examples li").count() >= 1

        assert page.locator("svg#chart-gap-volume").count() == 1
        assert (
            page.locator("svg#chart-gap-volume path, svg#chart-gap-volume rect").count()
            > 0
        )
        assert page.locator("svg#chart-coverage").count() == 1
        assert page.locator("#coverage tbody tr").count() >= 1
        page.screenshot(path=str(artifacts / "knowledge.png"), full_page=True)

        # The same page for a bot is refused.
        bot = loaded.api_keys.create("bot", label="browser test")
        refused = (
            browser.new_context(
                extra_http_headers={"Authorization": f"Bearer {bot.token}"}
            )
            .new_page()
            .goto(f"{url}/ui/knowledge")
        )
        assert refused is not None and refused.status == 403
    finally:
        browser.close()
