"""`cx-context gaps` and `cx-context health`: the knowledge owners' reports."""

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cx_context.knowledge.gaps import growth_label
from cx_context.service.console import CliError, JsonFlag, out, services_of
from cx_context.service.routes_knowledge import (
    MAX_STALE_AFTER_DAYS,
    PeriodError,
    gap_report,
    health_report,
    period,
)

SinceOption = Annotated[
    datetime | None,
    typer.Option(help="Start of the period (ISO 8601).", show_default=False),
]
UntilOption = Annotated[
    datetime | None,
    typer.Option(help="End of the period, exclusive (ISO 8601).", show_default=False),
]
DaysOption = Annotated[
    int | None,
    typer.Option(
        min=1, help="The last N days (instead of --since).", show_default=False
    ),
]


def _period(
    since: datetime | None, until: datetime | None, days: int | None
) -> tuple[datetime | None, datetime | None]:
    try:
        return period(since, until, days)
    except PeriodError as exc:
        raise CliError(f"--{exc.parameter}: {exc}") from None


def gaps_command(
    ctx: typer.Context,
    since: SinceOption = None,
    until: UntilOption = None,
    days: DaysOption = None,
    min_questions: Annotated[
        int | None, typer.Option(min=2, help="Fewest questions a gap holds.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Content gaps: unanswered questions grouped by meaning and ranked."""
    start, end = _period(since, until, days)
    services = services_of(ctx)
    report = gap_report(services, start, end, min_questions).to_dict()
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(
        f"{report['n_questions']} questions, {report['n_weak']} not or weakly "
        f"answered, {report['n_gaps']} gaps",
        highlight=False,
    )
    if report["note"]:
        out.print(escape(report["note"]), highlight=False)
    if not report["gaps"]:
        return
    table = Table(title="Content gaps, highest priority first")
    for header, justify in (
        ("#", "right"),
        ("gap", "left"),
        ("questions", "right"),
        ("trend", "right"),
        ("handed over", "right"),
        ("channels", "left"),
        ("examples (redacted)", "left"),
        ("nearest article: why it did not answer", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for gap in report["gaps"]:
        nearest = gap["nearest_articles"][:1]
        table.add_row(
            str(gap["rank"]),
            escape(gap["label"]),
            str(gap["volume"]),
            growth_label(gap["trend"]),
            f"{gap['escalated_share']:.0%}",
            escape("\n".join(f"{k} {v}" for k, v in gap["channels"].items())),
            escape("\n".join(gap["examples"])),
            escape(f"{nearest[0]['title']}: {nearest[0]['reason']}")
            if nearest
            else "none",
        )
    out.print(table)


def _list(title: str, rows: list[list[str]], headers: list[str], empty: str) -> None:
    if not rows:
        out.print(f"[bold]{escape(title)}[/bold]: {escape(empty)}", highlight=False)
        return
    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    out.print(table)


def _side(side: dict[str, Any]) -> str:
    return (
        f"{side['title']} › {side['section']}: {side.get('sentence') or side['text']}"
    )


def health_command(
    ctx: typer.Context,
    since: SinceOption = None,
    until: UntilOption = None,
    days: DaysOption = None,
    stale_after_days: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_STALE_AFTER_DAYS, help="Reviewed longer ago is stale."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Content health: conflicts, stale, duplicates, unused, quarantined, coverage."""
    start, end = _period(since, until, days)
    services = services_of(ctx)
    report = health_report(services, start, end, stale_after_days).to_dict()
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(
        f"{report['n_documents']} articles, {report['n_passages']} passages",
        highlight=False,
    )
    _list(
        "Conflicts",
        [
            [c["kind"], _side(c["a"]), _side(c["b"]), str(c["pairs"])]
            for c in report["conflicts"]
        ],
        ["kind", "one article says", "another says", "article pairs"],
        "none found",
    )
    _list(
        "Stale",
        [
            [
                s["title"],
                s["reviewed_at"][:10],
                str(s["age_days"]),
                str(s["retrievals"]),
            ]
            for s in report["stale"]
        ],
        ["article", "reviewed", "age (days)", "retrievals"],
        f"none reviewed more than {report['settings']['stale_after_days']} days ago",
    )
    _list(
        "Never reviewed",
        [[n["title"], str(n["retrievals"])] for n in report["never_reviewed"]],
        ["article", "retrievals"],
        "every article has a review date",
    )
    _list(
        "Near-duplicates",
        [
            [_side(d["a"]), _side(d["b"]), f"{d['similarity']:.2f}"]
            for d in report["duplicates"]
        ],
        ["passage", "near-duplicate", "similarity"],
        "none",
    )
    _list(
        "Unused in the period",
        [[u["title"], u["ingested_at"][:10]] for u in report["unused"]],
        ["article", "ingested"],
        "every article was retrieved",
    )
    _list(
        "Quarantined",
        [[q["title"], q["section"], q["reason"]] for q in report["quarantined"]],
        ["article", "section", "reason"],
        "none",
    )
    _list(
        "Coverage by intent",
        [
            [c["intent"], str(c["interactions"]), f"{c['share']:.0%}"]
            for c in report["coverage"]
        ],
        ["intent", "conversations", "answered from content"],
        "no conversations with an intent",
    )
