"""Commands for the risk log: verify the chain, list and export events."""

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cx_context.guardrails.risklog import RiskFilter
from cx_context.service.console import CliError, JsonFlag, err, out, services_of

risks_app = typer.Typer(
    help="The NIST AI 600-1 risk log: verify, list, export.", no_args_is_help=True
)


def _filter(
    category: str | None,
    decision: str | None,
    since: datetime | None,
    request_id: str | None,
) -> RiskFilter:
    try:
        return RiskFilter(
            category=category, decision=decision, since=since, request_id=request_id
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None


@risks_app.command("verify")
def risks_verify(
    ctx: typer.Context,
    expected_head: Annotated[
        str | None,
        typer.Option(
            "--expected-head", help="The head hash recorded by an earlier verify."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Walk the hash chain; exit 1 and name the first row that breaks it."""
    report = services_of(ctx).risk_log.verify(expected_head)
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    elif report.ok:
        out.print(
            escape(f"risk log intact: {report.rows} rows, head {report.head_hash}"),
            highlight=False,
        )
    if not report.ok:
        assert report.problem is not None
        if not as_json:
            err.print(
                f"[red]risk log broken[/red]: {escape(report.problem.message)}",
                highlight=False,
            )
        raise typer.Exit(code=1)


@risks_app.command("list")
def risks_list(
    ctx: typer.Context,
    category: Annotated[
        str | None, typer.Option(help="A GAI risk, e.g. information_security.")
    ] = None,
    decision: Annotated[
        str | None, typer.Option(help="e.g. quarantine, refuse, block.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Only events at or after this time (UTC).")
    ] = None,
    request_id: Annotated[str | None, typer.Option("--request-id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List risk events, newest first."""
    rows = services_of(ctx).risk_log.list(
        _filter(category, decision, since, request_id), limit=limit
    )
    if as_json:
        out.print_json(json.dumps({"events": rows}))
        return
    table = Table(title=f"Risk events ({len(rows)})")
    for column in ("seq", "time", "category", "detector", "decision", "score", "ids"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in _cells(row)))
    out.print(table)


def _cells(row: dict[str, Any]) -> list[str]:
    score = "" if row["score"] is None else f"{row['score']:.3f}"
    if row["threshold"] is not None:
        score += f" / {row['threshold']:.2f}"
    return [
        str(row["seq"]),
        row["occurred_at"][:19],
        row["category"],
        row["detector"],
        row["decision"],
        score,
        ", ".join(row["evidence"].get("ids", [])),
    ]


@risks_app.command("export")
def risks_export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The JSON Lines file to write.")],
) -> None:
    """Write every risk event, hashes included, as JSON Lines."""
    risk_log = services_of(ctx).risk_log
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise CliError(
            f"cannot write the export to {path}: {exc.strerror or exc}"
        ) from None
    with handle:
        count = risk_log.export(handle)
    out.print(escape(f"{count} risk events written to {path}"), highlight=False)
