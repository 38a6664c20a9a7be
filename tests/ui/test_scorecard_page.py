"""The scorecard page in headless Chromium, served by the real app over loopback.

A screenshot of each state is kept in tests/ui/artifacts/ (or $CX_UI_ARTIFACTS).
"""

from cx_context.service.app import create_app
from scorecard_estate import build_hand_estate


def test_the_scorecard_page_shows_measures_charts_and_filters(
    browser, live_app, artifacts, services
):  # type: ignore[no-untyped-def]
    build_hand_estate(services)
    key = services.api_keys.create("agent", label="browser test")
    url = live_app(create_app(services))
    context = browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {key.token}"},
        viewport={"width": 1280, "height": 900},
    )
    page = context.new_page()
    page.goto(f"{url}/ui/scorecard")
    assert page.locator("h1").inner_text() == "Continuity scorecard"
    completion = page.locator("tr[data-measure='journey_completion'] td").first
    assert completion.inner_text() == "75.0%"
    assert page.locator("figure.trend svg").count() == 8
    # Two months of trend on each chart.
    assert page.locator("figure.trend").first.inner_text().count("2026-1") >= 2
    voice = page.locator("#by_channel tr", has_text="voice")
    assert "not enough data" in voice.inner_text()
    page.screenshot(path=str(artifacts / "scorecard.png"), full_page=True)

    page.fill("input[name='intent']", "warranty/claim")
    page.click("button[type='submit']")
    page.wait_for_url("**intent=warranty%2Fclaim**")
    statuses = page.locator("#measures tr[data-measure]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert statuses == ["not_enough_data"] * 8
    assert "no contact has intent 'warranty/claim'" in page.inner_text("ul.notes")
    page.screenshot(
        path=str(artifacts / "scorecard-unknown-intent.png"), full_page=True
    )
    context.close()
