"""The scorecard over HTTP (`/v1/scorecard`, `/ui/scorecard`) and the command line."""

import json

import pytest

from conftest import api_client
from cx_context.service.cli import main
from scorecard_estate import build_hand_estate


@pytest.fixture
def estate(services):  # type: ignore[no-untyped-def]
    return build_hand_estate(services)


def test_the_api_gives_every_measure_with_its_method_and_count(estate):
    with api_client(estate, "agent") as client:
        response = client.get("/v1/scorecard", params={"intent": "billing/refund"})
    assert response.status_code == 200
    card = response.json()
    assert card["filters"]["intent"] == "billing/refund"
    measures = {m["key"]: m for m in card["measures"]}
    assert measures["journey_completion"]["value"] == 1.0
    assert measures["avoidable_recontact"]["n"] == 3
    assert measures["satisfaction_score"]["value"] == pytest.approx(11 / 3, abs=1e-4)
    assert all(m["method"] for m in card["measures"])


def test_the_api_names_a_bad_filter_and_a_window_is_configurable(estate):
    with api_client(estate, "admin") as client:
        bad = client.get("/v1/scorecard", params={"period": "October"})
        wide = client.get("/v1/scorecard", params={"recontact_days": 30})
        never = client.get("/v1/scorecard", params={"intent": "warranty/claim"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "query.period"
    assert "'October'" in bad.json()["detail"]
    # With a 30-day window c2 is a recontact of c1, and J5 (c8) of J1's c2.
    recontact = {m["key"]: m for m in wide.json()["measures"]}["avoidable_recontact"]
    assert recontact["details"]["recontacted"] == 2
    assert never.status_code == 200
    assert {m["status"] for m in never.json()["measures"]} == {"not_enough_data"}


def test_bots_may_not_read_the_scorecard(estate):
    with api_client(estate, "bot") as client:
        assert client.get("/v1/scorecard").status_code == 403
        assert client.get("/ui/scorecard").status_code == 403


def test_the_page_shows_the_measures_and_a_chart_for_each(estate):
    with api_client(estate, "agent") as client:
        page = client.get("/ui/scorecard", params={"channel": "", "bucket": "month"})
        bad = client.get("/ui/scorecard", params={"period": "soon"})
    assert page.status_code == 200
    html = page.text
    assert "Continuity scorecard" in html
    assert html.count('<figure class="trend"') == 8
    assert html.count("<svg") == 8
    assert "75.0%" in html  # journey completion
    assert bad.status_code == 422
    assert "period: expected YYYY-MM" in bad.text


def test_the_command_line_prints_a_table_and_json(estate, capsys):
    data_dir = str(estate.settings.data_dir)
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", data_dir, "scorecard", "--by", "intent"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "Journey completion" in out and "75.0%" in out
    assert "billing/refund" in out

    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", data_dir, "scorecard", "--json", "--period", "2025-01"])
    card = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0
    assert {m["status"] for m in card["measures"]} == {"not_enough_data"}

    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", data_dir, "scorecard", "--bucket", "day"])
    captured = capsys.readouterr()
    assert exited.value.code == 1
    assert "bucket: must be one of week, month, got 'day'" in captured.err
    assert "Traceback" not in captured.err
