"""PNG charts of the evaluation report: our system beside every baseline.

A figure a command did not report is left out of its chart and named in the
chart's note, never drawn as zero.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

_OURS = "cx-context"
_COLORS = ("#1f5f8b", "#b04a00", "#5b8c3a", "#7a4f9a", "#8c8c8c")


def _systems(result: dict[str, Any]) -> list[str]:
    names = list(result.get("systems", {}))
    return sorted(names, key=lambda n: (n != _OURS, names.index(n)))


def _save(figure: Figure, path: Path) -> str:
    figure.savefig(path, format="png", metadata={"Software": None})
    return path.name


def metric_bars(
    result: dict[str, Any], metrics: Sequence[str], title: str, path: Path
) -> str | None:
    """Grouped bars: one group per metric, one bar per system."""
    systems = _systems(result)
    present = [
        m
        for m in metrics
        if any(_number(result["systems"][s].get(m)) is not None for s in systems)
    ]
    if not systems or not present:
        return None
    figure = Figure(
        figsize=(max(4.5, 1.3 * len(present) + 2.5), 3.2), dpi=110, layout="constrained"
    )
    axes = figure.subplots()
    width = 0.8 / len(systems)
    missing = []
    for index, system in enumerate(systems):
        xs, ys = [], []
        for position, metric in enumerate(present):
            value = _number(result["systems"][system].get(metric))
            if value is None:
                missing.append(f"{system} {metric}")
                continue
            xs.append(position + index * width)
            ys.append(value)
        bars = axes.bar(
            xs, ys, width, label=system, color=_COLORS[index % len(_COLORS)]
        )
        axes.bar_label(bars, fmt="%.3g", fontsize=7)
    axes.set_xticks(
        [p + 0.4 - width / 2 for p in range(len(present))], present, fontsize=8
    )
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(axis="y", alpha=0.3)
    if missing:
        figure.text(0.01, 0.01, "not reported: " + ", ".join(missing), fontsize=6)
    return _save(figure, path)


def recall_at_k(result: dict[str, Any], title: str, path: Path) -> str | None:
    """recall@k against k, one line per system."""
    systems = _systems(result)
    figure = Figure(figsize=(4.8, 3.2), dpi=110, layout="constrained")
    axes = figure.subplots()
    drawn = False
    for index, system in enumerate(systems):
        figures = result["systems"][system]
        points = sorted(
            (int(key.split("@", 1)[1]), value)
            for key, raw in figures.items()
            if key.startswith("recall@") and (value := _number(raw)) is not None
        )
        if points:
            axes.plot(
                [k for k, _ in points],
                [v for _, v in points],
                marker="o",
                label=system,
                color=_COLORS[index % len(_COLORS)],
            )
            drawn = True
    if not drawn:
        return None
    axes.set_xlabel("k", fontsize=8)
    axes.set_ylabel("recall@k", fontsize=8)
    axes.set_ylim(0, 1.02)
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def per_type_recall(result: dict[str, Any], title: str, path: Path) -> str | None:
    """PII recall by gold entity type, ours beside the baseline."""
    systems = _systems(result)
    types = sorted(
        {t for s in systems for t in (result["systems"][s].get("per_type") or {})}
    )
    if not types:
        return None
    figure = Figure(
        figsize=(max(5.0, 0.55 * len(types) + 2), 3.4), dpi=110, layout="constrained"
    )
    axes = figure.subplots()
    width = 0.8 / len(systems)
    for index, system in enumerate(systems):
        per_type = result["systems"][system].get("per_type") or {}
        xs = [
            p + index * width
            for p, t in enumerate(types)
            if _number(per_type.get(t)) is not None
        ]
        ys = [per_type[t] for t in types if _number(per_type.get(t)) is not None]
        axes.bar(xs, ys, width, label=system, color=_COLORS[index % len(_COLORS)])
    axes.set_xticks(
        [p + 0.4 - width / 2 for p in range(len(types))],
        types,
        rotation=35,
        ha="right",
        fontsize=7,
    )
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("recall", fontsize=8)
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
