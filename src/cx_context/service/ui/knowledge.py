"""`/ui/knowledge`: where content fails customers, as a page for knowledge owners.

The ranked gaps with their example questions (redacted) and nearest articles,
the health lists (conflicts with both passages, stale, never reviewed,
near-duplicates, unused, quarantined), and two charts drawn on the server:
gap volume over time and coverage by intent.
"""

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cx_context.knowledge.gaps import growth_label
from cx_context.service.compute import on_compute_threads
from cx_context.service.routes_knowledge import (
    OwnerDep,
    PeriodError,
    gap_report,
    health_report,
    period,
)
from cx_context.service.tenants import ServicesDep
from cx_context.service.ui import page, table
from cx_context.service.ui.charts import share_bars, stacked_bars

router = APIRouter()

_TOP_GAPS = 5
# Rows shown per health list; the API and the CLI give them all.
_SHOWN = 10


def _examples(items: list[str]) -> str:
    return (
        '<ul class="examples">'
        + "".join(f"<li>{escape(item)}</li>" for item in items)
        + "</ul>"
    )


def _gap_rows(gaps: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for gap in gaps:
        nearest = "".join(
            f"<li>{escape(a['title'])} <span class='muted'>"
            f"({escape(a['reason'])})</span></li>"
            for a in gap["nearest_articles"]
        )
        channels = ", ".join(f"{escape(k)} {v}" for k, v in gap["channels"].items())
        rows.append(
            [
                str(gap["rank"]),
                f"<strong>{escape(gap['label'])}</strong>"
                f"<div class='muted'>{escape(gap['typical_question'])}</div>",
                str(gap["volume"]),
                escape(growth_label(gap["trend"])),
                f"{gap['escalated_share']:.0%}",
                _examples(gap["examples"]),
                f'<ul class="examples">{nearest}</ul>'
                if nearest
                else '<span class="empty">no article near</span>',
                channels,
            ]
        )
    return rows


def _volume_chart(report: dict[str, Any]) -> str:
    series = report["volume_over_time"]
    if not series:
        return '<p class="empty">No weak questions in this period.</p>'
    labels = [row["start"] for row in series]
    top = [g for g in report["gaps"][:_TOP_GAPS]]
    stacks = [
        (
            f"{g['rank']}. {g['label']}",
            [row["gaps"].get(str(g["rank"]), 0) for row in series],
        )
        for g in top
    ]
    other = [
        row["weak"] - sum(row["gaps"].values()) for row in series
    ]  # weak questions in no top gap
    stacks.append(("other weak questions", other))
    return stacked_bars(
        "chart-gap-volume", labels, stacks, f"questions per {report['bucket']}"
    )


def _coverage_chart(coverage: list[dict[str, Any]]) -> str:
    if not coverage:
        return '<p class="empty">No conversations with an intent in this period.</p>'
    shown = coverage[:20]
    return share_bars(
        "chart-coverage",
        [c["intent"] for c in shown],
        [c["share"] for c in shown],
        [c["interactions"] for c in shown],
    )


def _passage(side: dict[str, Any]) -> str:
    return (
        f"<strong>{escape(side['title'])}</strong> › {escape(side['section'])}"
        f"<blockquote>{escape(side.get('sentence') or side['text'])}</blockquote>"
    )


def _sayers(conflict: dict[str, Any]) -> str:
    """Which articles state each value, when more than the two shown do."""
    documents: dict[str, list[str]] = conflict.get("documents", {})
    if conflict.get("pairs", 1) <= 1:
        return "these two"
    return "<br>".join(
        f"<span class='warn'>{escape(value)}</span>: {len(ids)} "
        f"({escape(', '.join(ids))})"
        for value, ids in documents.items()
    )


def _health_sections(health: dict[str, Any]) -> str:
    conflicts = table(
        [
            "kind",
            "one article says",
            "another says",
            "articles saying each",
            "similarity",
        ],
        [
            [
                escape(c["kind"]),
                _passage(c["a"])
                + f"<span class='warn'>{escape(c['a']['value'])}</span>",
                _passage(c["b"])
                + f"<span class='warn'>{escape(c['b']['value'])}</span>",
                _sayers(c),
                f"{c['similarity']:.2f}",
            ]
            for c in health["conflicts"][:_SHOWN]
        ],
        "No conflicting numbers, dates, durations or amounts found.",
        numeric=(4,),
        css_id="conflicts",
    )
    stale = table(
        ["article", "owner", "reviewed", "age (days)", "retrievals"],
        [
            [
                escape(s["title"]),
                escape(s["owner"] or "—"),
                escape(s["reviewed_at"][:10]),
                str(s["age_days"]),
                str(s["retrievals"]),
            ]
            for s in health["stale"][:_SHOWN]
        ],
        f"No article was reviewed more than "
        f"{health['settings']['stale_after_days']} days ago.",
        numeric=(3, 4),
        css_id="stale",
    )
    never = table(
        ["article", "owner", "retrievals"],
        [
            [escape(n["title"]), escape(n["owner"] or "—"), str(n["retrievals"])]
            for n in health["never_reviewed"][:_SHOWN]
        ],
        "Every article has a review date.",
        numeric=(2,),
        css_id="never-reviewed",
    )
    duplicates = table(
        ["passage", "near-duplicate", "similarity"],
        [
            [_passage(d["a"]), _passage(d["b"]), f"{d['similarity']:.2f}"]
            for d in health["duplicates"][:_SHOWN]
        ],
        "No near-duplicate passages across articles.",
        numeric=(2,),
        css_id="duplicates",
    )
    unused = table(
        ["article", "owner", "ingested"],
        [
            [
                escape(u["title"]),
                escape(u["owner"] or "—"),
                escape(u["ingested_at"][:10]),
            ]
            for u in health["unused"][:_SHOWN]
        ],
        "Every article was retrieved in this period.",
        css_id="unused",
    )
    quarantined = table(
        ["article", "section", "reason"],
        [
            [escape(q["title"]), escape(q["section"]), escape(q["reason"])]
            for q in health["quarantined"][:_SHOWN]
        ],
        "No passage is quarantined.",
        css_id="quarantined",
    )
    coverage = table(
        ["intent", "conversations", "answered from content", "share"],
        [
            [
                escape(c["intent"]),
                str(c["interactions"]),
                str(c["answered"]),
                f"{c['share']:.0%}",
            ]
            for c in health["coverage"][:_SHOWN]
        ],
        "No conversations with an intent in this period.",
        numeric=(1, 2, 3),
        css_id="coverage",
    )

    def heading(title: str, key: str) -> str:
        n = len(health[key])
        more = f" (the first {_SHOWN} of {n})" if n > _SHOWN else f" ({n})"
        return f"{escape(title)}<span class='muted'>{more}</span>"

    return (
        f"<section><h2>{heading('Conflicting content', 'conflicts')}</h2>"
        f"{conflicts}</section>"
        f"<section><h2>{heading('Stale articles', 'stale')}</h2>{stale}"
        f"<h3>{heading('Never reviewed', 'never_reviewed')}</h3>{never}</section>"
        f"<section><h2>{heading('Near-duplicate passages', 'duplicates')}</h2>"
        f"{duplicates}</section>"
        f"<section><h2>{heading('Unused articles', 'unused')}</h2>{unused}</section>"
        f"<section><h2>{heading('Quarantined passages', 'quarantined')}</h2>"
        f"{quarantined}</section>"
        f"<section><h2>Coverage by intent</h2>{coverage}</section>"
    )


def render_page(gaps: dict[str, Any], health: dict[str, Any], days: int | None) -> str:
    options = "".join(
        f'<option value="{value}"{" selected" if value == (days or 0) else ""}>'
        f"{label}</option>"
        for value, label in (
            (7, "7 days"),
            (30, "30 days"),
            (90, "90 days"),
            (0, "all"),
        )
    )
    form = (
        '<form class="period" method="get"><label>Period '
        f'<select name="days">{options}</select></label>'
        '<button type="submit">Show</button></form>'
    )
    summary = (
        f"<p>{gaps['n_questions']} questions asked, {gaps['n_weak']} not answered "
        f"or weakly answered, {gaps['n_gaps']} gaps of at least "
        f"{gaps['settings']['min_questions']} questions. "
        f"{health['n_documents']} articles, {health['n_passages']} passages.</p>"
    )
    note = f'<p class="muted">{escape(gaps["note"])}</p>' if gaps.get("note") else ""
    ranked = table(
        [
            "#",
            "gap",
            "questions",
            "trend",
            "handed to a person",
            "example questions (redacted)",
            "nearest articles and why they did not answer",
            "channels",
        ],
        _gap_rows(gaps["gaps"]),
        "No gaps: no group of unanswered questions in this period.",
        numeric=(0, 2, 3, 4),
        css_id="gaps",
    )
    charts = (
        '<div class="charts">'
        f"<figure><figcaption>Gap volume over time</figcaption>"
        f"{_volume_chart(gaps)}</figure>"
        f"<figure><figcaption>Coverage by intent</figcaption>"
        f"{_coverage_chart(health['coverage'])}</figure></div>"
    )
    body = (
        f"<section>{form}{summary}{note}</section>"
        f"<section><h2>Charts</h2>{charts}</section>"
        f"<section><h2>Ranked gaps</h2>{ranked}</section>"
        f"{_health_sections(health)}"
    )
    return page(
        "Knowledge: where our content fails customers",
        body,
        "From real customer questions (redacted) and the content they were "
        "answered from.",
    )


@router.get(
    "/ui/knowledge",
    response_class=HTMLResponse,
    summary="The knowledge owners' page: gaps, content health, charts",
)
@on_compute_threads
def knowledge_page(
    request: Request,
    services: ServicesDep,
    _caller: OwnerDep,
    days: Annotated[
        int | None, Query(ge=0, description="The last N days; 0 or none for all.")
    ] = 30,
) -> HTMLResponse:
    try:
        since, until = period(None, None, days or None)
    except PeriodError as exc:  # days reaching before year 1
        return HTMLResponse(page("Knowledge", f"<p>{escape(str(exc))}</p>"), 422)
    gaps = gap_report(services, since, until).to_dict()
    health = health_report(services, since, until).to_dict()
    return HTMLResponse(render_page(gaps, health, days))
