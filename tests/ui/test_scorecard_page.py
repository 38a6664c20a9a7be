"""The scorecard page in headless Chromium, served by the real app over loopback.

A screenshot of each state is kept in tests/ui/artifacts/ (or $CX_UI_ARTIFACTS).
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from cx_context.service.app import create_app
from scorecard_estate import build_hand_estate

CHROMIUM = "/usr/bin/chromium"
# Chromium looks up Google hosts on start; only loopback may resolve.
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
ARTIFACTS = Path(os.environ.get("CX_UI_ARTIFACTS", Path(__file__).parent / "artifacts"))

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM}"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def scorecard_site(services) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The app over the hand-built estate on a free port, and an agent's key."""
    build_hand_estate(services)
    key = services.api_keys.create("agent", label="browser test")
    assert key.token is not None
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services), host="127.0.0.1", port=port, log_config=None
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("the app did not start in 10 s")
    yield f"http://127.0.0.1:{port}", key.token
    server.should_exit = True
    thread.join(timeout=10)


def test_the_scorecard_page_shows_measures_charts_and_filters(
    playwright, scorecard_site
):  # type: ignore[no-untyped-def]
    url, token = scorecard_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=ARGS
    )
    try:
        context = browser.new_context(
            extra_http_headers={"Authorization": f"Bearer {token}"},
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        page.goto(f"{url}/ui/scorecard")
        assert page.locator("h1").inner_text() == "Continuity scorecard"
        completion = page.locator("tr[data-measure='journey_completion'] td").first
        assert completion.inner_text() == "75.0%"
        assert page.locator("figure.trend svg").count() == 8
        # Two months of trend, drawn as points on each chart.
        assert page.locator("figure.trend").first.inner_text().count("2026-1") >= 2
        voice = page.locator("#by_channel tr", has_text="voice")
        assert "not enough data" in voice.inner_text()
        page.screenshot(path=str(ARTIFACTS / "scorecard.png"), full_page=True)

        page.fill("input[name='intent']", "warranty/claim")
        page.click("button[type='submit']")
        page.wait_for_url("**intent=warranty%2Fclaim**")
        statuses = page.locator("#measures tr[data-measure]").evaluate_all(
            "rows => rows.map(r => r.dataset.status)"
        )
        assert statuses == ["not_enough_data"] * 8
        assert "no contact has intent 'warranty/claim'" in page.inner_text("ul.notes")
        page.screenshot(
            path=str(ARTIFACTS / "scorecard-unknown-intent.png"), full_page=True
        )
    finally:
        browser.close()
