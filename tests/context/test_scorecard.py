"""The continuity scorecard on a small estate built by hand, every value known.

The estate is described in `tests/scorecard_estate.py`.
"""

from typing import Any

import pytest

from cx_context.context.scorecard import ScorecardQuery, ScorecardQueryError
from scorecard_estate import NOW, build_hand_estate


@pytest.fixture
def estate(record_services):  # type: ignore[no-untyped-def]
    return build_hand_estate(record_services)


def _card(services: Any, **filters: str) -> dict[str, Any]:
    # The recontact windows are judged as of NOW.
    return services.scorecard(now=NOW).compute(ScorecardQuery.parse(**filters))


def _measures(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in card["measures"]}


def test_every_measure_has_its_known_value(estate):
    card = _card(estate)
    m = _measures(card)
    assert card["counts"] == {"contacts": 8, "journeys": 5, "handoffs": 3, "events": 5}

    # J1, J2, J5 resolved; J3 unresolved; J4 has no outcome and no case.
    completion = m["journey_completion"]
    assert (completion["value"], completion["n"]) == (0.75, 4)
    assert completion["details"] == {"resolved": 3, "unresolved": 1, "journeys": 5}
    assert completion["excluded"] == {
        "contacts with no linked customer": 1,
        "no outcome and no case": 1,
    }

    # Resolved contacts c1, c2, c3, c8 (c7 has no customer); only c1 recontacted.
    recontact = m["avoidable_recontact"]
    assert (recontact["value"], recontact["n"]) == (0.25, 4)
    assert recontact["details"]["recontacted"] == 1
    assert recontact["excluded"]["resolved contacts with no customer or intent"] == 1

    # 10 min, 45 min and 73.5 h: the median, and p90 between the last two.
    ttr = m["time_to_resolution"]
    assert (ttr["value"], ttr["n"]) == (0.75, 3)
    assert ttr["details"]["p90_hours"] == pytest.approx(0.75 + 0.8 * (73.5 - 0.75))

    transfers = m["transfer_failure"]
    assert (transfers["value"], transfers["n"]) == (0.6667, 3)
    assert transfers["details"] == {
        "handoffs": 3,
        "failed": 2,
        "repeated_identification": 1,
        "repeated_story": 1,
        "dropped": 1,
        "by_kind": {"announced_transfer": 1, "bot_to_agent": 1, "linked_transfer": 1},
    }

    # Lags of 600, 3600, 60 and 30 s against a bound of 300 s; e2 out of order.
    latency = m["data_latency"]
    assert (latency["value"], latency["n"]) == (0.5, 4)
    assert latency["details"]["late"] == 2
    assert latency["details"]["out_of_order"] == 1
    assert latency["details"]["median_lag_seconds"] == pytest.approx(330, abs=5)
    assert latency["excluded"] == {"event time after arrival": 1}

    # c6 linked at 0.9 and c7 unlinked, of eight contacts.
    identity = m["identity_match_confidence"]
    assert (identity["value"], identity["n"]) == (0.25, 8)
    assert identity["details"]["distribution"] == {
        "unlinked": 1,
        "under 0.5": 0,
        "0.5 to 0.9": 0,
        "0.9 to 0.999": 1,
        "0.999 or more": 6,
    }

    score = m["satisfaction_score"]
    assert (score["value"], score["n"]) == (round(11 / 3, 4), 3)
    assert score["details"]["satisfied_share"] == round(2 / 3, 4)
    sentiment = m["positive_sentiment"]
    assert (sentiment["value"], sentiment["n"]) == (round(1 / 3, 4), 3)
    assert sentiment["details"] == {"positive": 1, "neutral": 1, "negative": 1}

    for measure in card["measures"]:
        assert measure["status"] == "ok" and measure["method"]


def test_breakdowns_by_intent_channel_and_month(estate):
    card = _card(estate)
    refund = card["by_intent"]["billing/refund"]
    assert refund["journey_completion"] == {"value": 1.0, "n": 2}
    assert refund["avoidable_recontact"] == {"value": round(1 / 3, 4), "n": 3}
    assert card["by_channel"]["bot"]["transfer_failure"] == {"value": 1.0, "n": 1}
    assert card["by_channel"]["voice"]["transfer_failure"]["value"] is None

    points = {p["period"]: p["values"] for p in card["trend"]["points"]}
    assert list(points) == ["2026-10", "2026-11"]
    assert points["2026-10"]["journey_completion"] == {"value": round(2 / 3, 4), "n": 3}
    assert points["2026-11"]["journey_completion"] == {"value": 1.0, "n": 1}
    assert points["2026-11"]["transfer_failure"]["value"] is None


def test_a_period_with_no_data_says_so_for_every_measure(estate):
    card = _card(estate, period="2025-01")
    assert card["notes"] == ["no contact started in period 2025-01"]
    for measure in card["measures"]:
        assert measure["status"] == "not_enough_data"
        assert measure["value"] is None and measure["n"] == 0
        assert measure["missing"].startswith("not enough data: ")
    assert card["trend"]["points"] == []


def test_an_intent_never_seen_is_not_enough_data_not_zero(estate):
    card = _card(estate, intent="warranty/claim")
    assert card["notes"] == ["no contact has intent 'warranty/claim'"]
    assert {m["status"] for m in card["measures"]} == {"not_enough_data"}
    # Events carry no intent: with an intent filter they count only for the
    # customers of contacts in scope, and here there are none.
    assert _measures(card)["data_latency"]["missing"] == (
        "not enough data: no event in scope"
    )


def test_interactions_without_an_outcome_are_left_out_and_counted(estate):
    m = _measures(_card(estate, intent="shipping/address"))
    completion = m["journey_completion"]
    assert completion["status"] == "not_enough_data"
    assert completion["excluded"] == {"no outcome and no case": 1}
    assert m["time_to_resolution"]["value"] is None
    # The same contact still counts where its outcome is not needed.
    assert m["transfer_failure"]["value"] == 1.0
    assert m["transfer_failure"]["details"]["dropped"] == 1


def test_a_period_keeps_october_and_counts_undated_nothing(estate):
    m = _measures(_card(estate, period="2026-10-01/2026-10-31"))
    assert m["journey_completion"]["value"] == round(2 / 3, 4)
    assert m["identity_match_confidence"]["value"] == round(2 / 7, 4)
    # Every event was made this week, none in October.
    assert m["data_latency"]["status"] == "not_enough_data"


@pytest.mark.parametrize(
    ("filters", "parameter"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "last week"}, "period"),
        ({"period": "2026-10-31/2026-10-01"}, "period"),
        ({"bucket": "day"}, "bucket"),
    ],
)
def test_bad_filters_name_the_parameter(filters, parameter):
    with pytest.raises(ScorecardQueryError) as caught:
        ScorecardQuery.parse(**filters)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}: ")
