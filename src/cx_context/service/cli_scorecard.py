"""`cx-context scorecard`: the continuity scorecard as a terminal table or JSON."""

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cx_context.service.console import JsonFlag, out, services_of
from cx_context.service.routes_scorecard import compute_card
from cx_context.service.ui_scorecard import format_value


class Breakdown(StrEnum):
    INTENT = "intent"
    CHANNEL = "channel"
    PERIOD = "period"


def _note(measure: dict[str, Any]) -> str:
    if measure["missing"]:
        return str(measure["missing"])
    details = measure["details"]
    picks = {
        "time_to_resolution": ("p90_hours",),
        "transfer_failure": ("repeated_identification", "repeated_story", "dropped"),
        "data_latency": ("median_lag_seconds", "p90_lag_seconds", "out_of_order"),
        "identity_match_confidence": ("median_confidence",),
        "satisfaction_score": ("satisfied_share",),
        "avoidable_recontact": ("recontacted",),
        "journey_completion": ("resolved", "unresolved"),
        "positive_sentiment": ("positive", "neutral", "negative"),
    }.get(measure["key"], ())
    return ", ".join(f"{name} {details[name]}" for name in picks if name in details)


_SHORT = {
    "journey_completion": "completed",
    "avoidable_recontact": "recontact",
    "time_to_resolution": "TTR",
    "transfer_failure": "transfer fail",
    "data_latency": "late events",
    "identity_match_confidence": "unconfident",
    "satisfaction_score": "CSAT",
    "positive_sentiment": "positive",
}


def _breakdown_table(card: dict[str, Any], by: Breakdown) -> Table:
    measures = card["measures"]
    if by is Breakdown.PERIOD:
        groups = {p["period"]: p["values"] for p in card["trend"]["points"]}
    else:
        groups = card[f"by_{by.value}"]
    table = Table(title=f"By {by.value}")
    table.add_column(by.value, no_wrap=True)
    for m in measures:
        table.add_column(_SHORT.get(m["key"], m["key"]), justify="right")
    for group, values in groups.items():
        table.add_row(
            escape(group),
            *(format_value(values[m["key"]]["value"], m["unit"]) for m in measures),
        )
    return table


def scorecard_command(
    ctx: typer.Context,
    period: Annotated[
        str | None,
        typer.Option(help="YYYY-MM, YYYY-Www, YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD."),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="e.g. chat, voice.")] = None,
    intent: Annotated[str | None, typer.Option(help="e.g. billing/refund.")] = None,
    bucket: Annotated[str, typer.Option(help="Trend points: week or month.")] = (
        "month"
    ),
    recontact_days: Annotated[
        float | None,
        typer.Option(min=0.001, help="Recontact window in days (default: settings)."),
    ] = None,
    latency_bound_s: Annotated[
        float | None,
        typer.Option(min=0.001, help="Events later than this many seconds are late."),
    ] = None,
    by: Annotated[
        Breakdown | None, typer.Option(help="Also show a table by this.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The continuity scorecard: each measure, from how many records, and how."""
    card = compute_card(
        services_of(ctx),
        period,
        channel,
        intent,
        bucket,
        recontact_days,
        latency_bound_s,
    )
    if as_json:
        out.print_json(json.dumps(card))
        return
    filters = ", ".join(f"{k} {v}" for k, v in card["filters"].items() if v)
    counts = card["counts"]
    table = Table(
        title=(
            f"Continuity scorecard ({filters}): {counts['contacts']} contacts, "
            f"{counts['journeys']} journeys, {counts['events']} events"
        )
    )
    for name, justify in (("measure", "left"), ("value", "right"), ("n", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("detail")
    for m in card["measures"]:
        table.add_row(
            m["title"],
            format_value(m["value"], m["unit"]),
            str(m["n"]),
            escape(_note(m)),
        )
    out.print(table)
    for note in card["notes"]:
        out.print(f"note: {escape(note)}", highlight=False)
    if by is not None:
        # Wider than a default terminal; a pipe keeps each row on one line.
        wide = Console(width=max(out.width, 160), soft_wrap=True)
        wide.print(_breakdown_table(card, by))
    out.print(
        "How each measure is computed: `cx-context scorecard --json` (method).",
        highlight=False,
    )
