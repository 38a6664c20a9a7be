"""`/ui/scorecard`: the continuity scorecard as a page, with trend charts.

Rendered on the server: a table of the measures (value, records behind it,
how it was computed, what was left out), one trend chart per measure, and the
breakdowns by intent and channel. No script and nothing from the internet.
"""

from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cx_context.context.scorecard import ScorecardQueryError
from cx_context.service.routes_scorecard import ReaderDep, compute_card
from cx_context.service.scorecard_charts import trend_svg
from cx_context.service.tenants import ServicesDep
from cx_context.service.ui import page

router = APIRouter()

# Beside the shared layout's style: why a figure is missing, and the methods.
_STYLE = """
.nodata { color: #a33a00; font-style: italic; }
.method { color: #5b6675; font-size: .8rem; max-width: 38rem; }
.notes { color: #a33a00; }
table.wide th, table.wide td { font-size: .82rem; }
"""


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "not enough data"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:.2f} h"
    if unit == "score":
        return f"{value:.2f} / 5"
    return f"{value:g}"


def _cell(value: float | None, unit: str) -> str:
    css = "num" if value is not None else "num nodata"
    return f'<td class="{css}">{escape(format_value(value, unit))}</td>'


def _measure_rows(card: dict[str, Any]) -> str:
    rows = []
    for m in card["measures"]:
        excluded = ", ".join(f"{k}: {v}" for k, v in m["excluded"].items())
        why = f"<br>{escape(m['missing'])}" if m["missing"] else ""
        rows.append(
            f'<tr data-measure="{escape(m["key"])}" data-status="{m["status"]}">'
            f"<th>{escape(m['title'])}</th>{_cell(m['value'], m['unit'])}"
            f'<td class="num">{m["n"]}</td>'
            f'<td class="method">{escape(m["method"])}{why}</td>'
            f'<td class="method">{escape(excluded) or "none"}</td></tr>'
        )
    return "".join(rows)


def _breakdown(card: dict[str, Any], name: str, title: str) -> str:
    groups = card[name]
    if not groups:
        return f"<h2>{title}</h2><p class='nodata'>not enough data</p>"
    measures = card["measures"]
    head = "".join(f"<th>{escape(m['title'])}</th>" for m in measures)
    rows = []
    for group, values in groups.items():
        cells = "".join(_cell(values[m["key"]]["value"], m["unit"]) for m in measures)
        rows.append(f"<tr><th>{escape(group)}</th>{cells}</tr>")
    return (
        f"<h2>{title}</h2><table id='{name}' class='wide'><tr><th></th>{head}</tr>"
        f"{''.join(rows)}</table>"
    )


def _form(card: dict[str, Any]) -> str:
    filters = card["filters"]
    bucket_options = "".join(
        f"<option{' selected' if b == filters['bucket'] else ''}>{b}</option>"
        for b in ("month", "week")
    )
    return (
        '<form method="get" action="/ui/scorecard">'
        '<label>Period <input name="period" placeholder="2026-11" '
        f'value="{escape(filters["period"] or "")}"></label>'
        '<label>Channel <input name="channel" placeholder="chat" '
        f'value="{escape(filters["channel"] or "")}"></label>'
        '<label>Intent <input name="intent" placeholder="billing/refund" '
        f'value="{escape(filters["intent"] or "")}"></label>'
        f'<label>Trend by <select name="bucket">{bucket_options}</select></label>'
        "<button type='submit'>Show</button></form>"
    )


def render_page(card: dict[str, Any], error: str | None = None) -> str:
    counts = card["counts"]
    notes = "".join(f"<li>{escape(n)}</li>" for n in card["notes"])
    charts = "".join(
        f'<figure class="trend" data-measure="{escape(m["key"])}">'
        f"{trend_svg(card, m)}</figure>"
        for m in card["measures"]
    )
    if not card["trend"]["points"]:
        charts = "<p class='nodata'>not enough data for a trend</p>"
    settings = card["settings"]
    body = (
        f"<style>{_STYLE}</style>"
        f"<section>{_form(card)}"
        + (f"<p class='notes' role='alert'>{escape(error)}</p>" if error else "")
        + (f"<ul class='notes'>{notes}</ul>" if notes else "")
        + "<table id='measures'><tr><th>Measure</th><th>Value</th><th>Records</th>"
        "<th>How it was computed</th><th>Left out</th></tr>"
        f"{_measure_rows(card)}</table></section>"
        f"<section><h2>Trends by {escape(card['filters']['bucket'])}</h2>"
        f"<div class='charts'>{charts}</div></section>"
        f"<section>{_breakdown(card, 'by_intent', 'By journey (intent)')}</section>"
        f"<section>{_breakdown(card, 'by_channel', 'By channel')}</section>"
        f"<p><a href='/v1/scorecard?{escape(urlencode(_set(card['filters'])))}'>"
        "this scorecard as JSON</a></p>"
    )
    subtitle = (
        f"{counts['contacts']} contacts, {counts['journeys']} journeys, "
        f"{counts['handoffs']} handoffs, {counts['events']} events; recontact "
        f"window {settings['recontact_window_hours']:g} h, late after "
        f"{settings['latency_bound_seconds']:g} s"
    )
    return page("Continuity scorecard", body, subtitle)


def _set(filters: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in filters.items() if v}


@router.get("/ui/scorecard", response_class=HTMLResponse, include_in_schema=False)
def scorecard_page(
    request: Request,
    services: ServicesDep,
    _caller: ReaderDep,
    period: Annotated[str | None, Query()] = None,
    channel: Annotated[str | None, Query()] = None,
    intent: Annotated[str | None, Query()] = None,
    bucket: Annotated[str, Query()] = "month",
) -> HTMLResponse:
    # An empty form field means "no filter".
    period, channel, intent = (v or None for v in (period, channel, intent))
    try:
        card = compute_card(services, period, channel, intent, bucket, None, None)
    except ScorecardQueryError as exc:
        card = compute_card(services, None, channel, intent, "month", None, None)
        return HTMLResponse(render_page(card, str(exc)), status_code=422)
    return HTMLResponse(render_page(card))
