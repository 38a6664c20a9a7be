"""Trend charts of the scorecard, drawn on the server with matplotlib (SVG or PNG).

A point the scorecard could not compute ("not enough data") is a gap in the
line, never a zero.
"""

import io
from collections.abc import Sequence
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

_UNIT_LABEL = {"share": "share (0 to 1)", "hours": "hours", "score": "score (1 to 5)"}


def _trend_figure(
    labels: Sequence[str], values: Sequence[float | None], title: str, unit: str
) -> Figure:
    figure = Figure(figsize=(4.2, 2.4), dpi=100, layout="constrained")
    axes = figure.subplots()
    positions = list(range(len(labels)))
    ys = [float("nan") if v is None else v for v in values]
    axes.plot(positions, ys, marker="o", color="#1f5f8b", linewidth=1.6)
    axes.set_title(title, fontsize=10)
    axes.set_ylabel(_UNIT_LABEL.get(unit, unit), fontsize=8)
    step = max(1, len(labels) // 6)
    axes.set_xticks(positions[::step], labels[::step], fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    if unit == "share":
        axes.set_ylim(-0.02, 1.02)
    axes.grid(alpha=0.3)
    missing = [p for p, v in zip(positions, values, strict=True) if v is None]
    for number, position in enumerate(missing):
        axes.axvspan(
            position - 0.4,
            position + 0.4,
            color="#b04a00",
            alpha=0.12,
            hatch="//",
            label="not enough data" if number == 0 else None,
        )
    if missing:
        axes.set_xlim(-0.6, len(labels) - 0.4)
        axes.legend(fontsize=7, loc="upper right")
    return figure


def trend_series(
    card: dict[str, Any], key: str
) -> tuple[list[str], list[float | None]]:
    points = card["trend"]["points"]
    return (
        [p["period"] for p in points],
        [p["values"][key]["value"] for p in points],
    )


def trend_svg(card: dict[str, Any], measure: dict[str, Any]) -> str:
    """One measure's trend as an inline SVG element (text kept as text)."""
    labels, values = trend_series(card, measure["key"])
    figure = _trend_figure(labels, values, measure["title"], measure["unit"])
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "cx-context"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
