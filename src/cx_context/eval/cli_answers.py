"""`cx-context eval retrieval` and `eval abstention` on DSTC11 track 5."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cx_context.eval.abstention import run as run_abstention
from cx_context.eval.retrieval import DEFAULT_DATA, SPLITS, check_data
from cx_context.eval.retrieval import run as run_retrieval

out = Console()
err = Console(stderr=True)

DataArg = Annotated[
    Path,
    typer.Argument(
        help="A folder in the DSTC11 layout (knowledge.json, val_logs.json, "
        "val_labels.json)."
    ),
]
SplitOption = Annotated[
    str,
    typer.Option(
        help="Report on: test (the dialogues not tuned on), dev or all.",
    ),
]
LimitOption = Annotated[
    int | None, typer.Option(min=1, help="Only the first N turns of the split.")
]
CacheOption = Annotated[
    Path | None,
    typer.Option(help="Keep the knowledge vectors here, to reuse in later runs."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _checked(data: Path, split: str) -> None:
    if split not in SPLITS:
        raise typer.BadParameter(
            f"--split must be one of {', '.join(SPLITS)}, got {split!r}"
        )
    try:
        check_data(data)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from None


def _table(result: dict[str, Any], title: str, metrics: list[str]) -> Table:
    from cx_context.eval.cli import fill_systems

    table = Table(title=title)
    fill_systems(table, result, [(m, m, "{:.4f}") for m in metrics])
    return table


def retrieval_command(
    data: DataArg = DEFAULT_DATA,
    split: SplitOption = "test",
    limit: LimitOption = None,
    cache: CacheOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recall@1/5/10 and MRR of the grounding snippet: ours beside BM25 and dense."""
    _checked(data, split)
    with Progress(console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = run_retrieval(
            data, split=split, limit=limit, cache=cache, progress=advance
        )
    if as_json:
        print(json.dumps(result))
        return
    out.print(
        _table(
            result,
            f"Knowledge retrieval on {result['dataset']} ({result['split']} split, "
            f"tuned on dev): {result['n']} knowledge-seeking turns, "
            f"{result['settings']['n_passages']} passages",
            ["recall@1", "recall@5", "recall@10", "mrr"],
        )
    )
    err.print(
        "dense-gold-entity is told the gold entity: a reference, not a baseline. "
        f"runtime {result['runtime_s']} s"
    )


def abstention_command(
    data: DataArg = DEFAULT_DATA,
    split: SplitOption = "test",
    limit: LimitOption = None,
    cache: CacheOption = None,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit", help="Fit the can-answer weights on dev now (and print them)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """AUROC and F1 of "needs knowledge": our can-answer score beside max similarity."""
    _checked(data, split)
    with Progress(console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = run_abstention(
            data, split=split, limit=limit, cache=cache, fit=fit, progress=advance
        )
    if as_json:
        print(json.dumps(result))
        return
    settings = result["settings"]
    out.print(
        _table(
            result,
            f"Needs-knowledge decision on {result['dataset']} ({result['split']} "
            f"split): {result['n']} turns, {settings['positives']} need knowledge; "
            f"thresholds chosen on {settings['n_dev']} dev turns",
            ["auroc", "f1", "precision", "recall", "threshold"],
        )
    )
    if fit:
        err.print(f"weights fitted on dev: {json.dumps(settings['model'])}")
    err.print(f"runtime {result['runtime_s']} s")
