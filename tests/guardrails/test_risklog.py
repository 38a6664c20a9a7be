"""The risk log on SQLite: appends, filters, export and the hash chain."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.nist import ACTIONS, RiskCategory
from cx_context.guardrails.risklog import RiskFilter, RiskLog
from cx_context.guardrails.riskrecords import (
    Actor,
    Evidence,
    RiskEvent,
    Versions,
    text_hash,
)


def _event(n: int, category: RiskCategory = RiskCategory.CONFABULATION) -> RiskEvent:
    return RiskEvent(
        category=category,
        actions=("MS-2.5-003",),
        detector="unknown_citation",
        decision=Decision.BLOCK,
        actor=Actor("bot", "answer"),
        evidence=Evidence(
            ids=(f"question-{n}",),
            content_hashes=(text_hash(f"answer {n}"),),
            entity_counts={"PERSON": 1},
        ),
        versions=Versions(model="extractive", embedder="all-MiniLM-L6-v2"),
        score=0.41,
        threshold=0.7,
        request_id=f"req-{n}",
    )


@pytest.fixture
def risk_log(services) -> RiskLog:  # type: ignore[no-untyped-def]
    log: RiskLog = services.risk_log
    for n in range(1, 6):
        log.append(_event(n))
    log.append(_event(6, RiskCategory.INFORMATION_SECURITY))
    return log


def test_every_category_of_the_profile_is_listed() -> None:
    assert len(RiskCategory) == 12
    assert {"MS-2.5-003", "MS-2.2-002", "MG-3.2-005"} <= set(ACTIONS)


def test_an_intact_chain_verifies_and_reports_its_head(risk_log: RiskLog) -> None:
    report = risk_log.verify()

    assert report.ok and report.rows == 6
    assert risk_log.verify(expected_head=report.head_hash).ok


def test_filters_select_by_category_decision_time_and_request(
    risk_log: RiskLog,
) -> None:
    security = risk_log.list(RiskFilter(category="information_security"))
    assert [row["seq"] for row in security] == [6]
    assert len(risk_log.list(RiskFilter(decision="block"))) == 6
    assert [r["seq"] for r in risk_log.list(RiskFilter(request_id="req-2"))] == [2]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert risk_log.list(RiskFilter(since=later)) == []
    with pytest.raises(ValueError, match="category must be one of"):
        RiskFilter(category="nonsense")


def test_export_writes_every_row_in_chain_order(risk_log: RiskLog) -> None:
    buffer = io.StringIO()

    assert risk_log.export(buffer) == 6
    rows = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [row["seq"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]


@pytest.mark.parametrize(
    ("statement", "kind", "seq"),
    [
        ("UPDATE risk_log SET decision = 'allow' WHERE seq = 3", "edited", 3),
        ("DELETE FROM risk_log WHERE seq = 4", "deleted", 5),
    ],
)
def test_when_a_row_is_changed_then_verify_names_it(
    services,
    risk_log: RiskLog,
    statement: str,
    kind: str,
    seq: int,  # type: ignore[no-untyped-def]
) -> None:
    with services.engine.begin() as connection:
        connection.execute(text(statement))

    report = risk_log.verify()

    assert not report.ok and report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (kind, seq)
    assert f"row {seq}" in report.problem.message or f"row {seq - 1}" in (
        report.problem.message
    )


def test_when_the_last_rows_are_removed_then_the_expected_head_catches_it(
    services,
    risk_log: RiskLog,  # type: ignore[no-untyped-def]
) -> None:
    head = risk_log.verify().head_hash
    with services.engine.begin() as connection:
        connection.execute(text("DELETE FROM risk_log WHERE seq = 6"))

    assert risk_log.verify().ok
    report = risk_log.verify(expected_head=head)
    assert not report.ok and report.problem is not None
    assert report.problem.kind == "truncated"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Evidence(ids=("the customer said hello",)),
        lambda: Evidence(content_hashes=("not-a-hash",)),
        lambda: Evidence(entity_counts={"jordan kelly": 1}),
        lambda: Actor("bot", "answer questions"),
    ],
)
def test_evidence_cannot_carry_text(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="got a value of"):
        make()


def test_an_unknown_action_id_is_an_error_that_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown NIST AI 600-1 action id 'XX-1'"):
        RiskEvent(
            RiskCategory.CONFABULATION,
            ("XX-1",),
            "unknown_citation",
            Decision.BLOCK,
            Actor("bot", "answer"),
        )
