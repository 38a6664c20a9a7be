"""Charts drawn on the server with matplotlib, as inline SVG."""

import io
import re
from collections.abc import Sequence

from matplotlib.figure import Figure

_COLOURS = ("#2f6db5", "#d9822b", "#3c9d5d", "#b5482f", "#7d5bb5", "#8a96a3")
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _svg(figure: Figure, css_id: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    return svg.replace("<svg ", f'<svg id="{css_id}" role="img" ', 1)


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=96)
    figure.set_layout_engine("tight")
    return figure


def stacked_bars(
    css_id: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    ylabel: str,
) -> str:
    """Bars per label (a time bucket), stacked by series (a gap, 'other')."""
    figure = _figure(6.4, 2.8)
    axes = figure.add_subplot()
    bottom = [0] * len(labels)
    positions = list(range(len(labels)))
    for index, (name, values) in enumerate(series):
        axes.bar(
            positions,
            values,
            bottom=bottom,
            label=name,
            color=_COLOURS[index % len(_COLOURS)],
            width=0.7,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xticks(positions, labels, rotation=30 if len(labels) > 6 else 0)
    axes.set_ylabel(ylabel)
    axes.spines[["top", "right"]].set_visible(False)
    if series:
        axes.legend(fontsize=7, frameon=False, loc="upper left")
    return _svg(figure, css_id)


def share_bars(
    css_id: str, labels: Sequence[str], shares: Sequence[float], counts: Sequence[int]
) -> str:
    """Horizontal bars of a share (0 to 1) per label, each with its count."""
    height = 0.9 + 0.28 * max(len(labels), 1)
    figure = _figure(6.4, height)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    colours = [
        "#3c9d5d" if s >= 0.8 else "#d9822b" if s >= 0.5 else "#b5482f" for s in shares
    ]
    axes.barh(positions, shares, color=colours, height=0.6)
    for position, share, count in zip(positions, shares, counts, strict=True):
        axes.text(
            min(share + 0.01, 0.9),
            position,
            f"{share:.0%} of {count}",
            va="center",
            fontsize=7,
        )
    axes.set_yticks(positions, labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share answered from content")
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, css_id)
