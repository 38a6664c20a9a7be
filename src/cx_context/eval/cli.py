"""`cx-context eval ...`: evaluations that print our figures beside a baseline's."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cx_context.eval.bench_ingest import (
    DEFAULT_INTERACTIONS,
    DEFAULT_KNOWLEDGE,
    IngestBenchmark,
)
from cx_context.eval.identity import DEFAULT_DATA as IDENTITY_DATA
from cx_context.eval.identity import run as run_identity

app = typer.Typer(
    help="Evaluations and benchmarks (our system beside a baseline).",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


@app.command("ingest")
def ingest(
    knowledge: Annotated[
        list[Path] | None,
        typer.Option(
            "--knowledge", help="Knowledge file(s); default: the bundled ABCD manual."
        ),
    ] = None,
    interactions: Annotated[
        list[Path] | None,
        typer.Option(
            "--interactions",
            help="Interaction file(s); default: the bundled ABCD dialogues.",
        ),
    ] = None,
    repeats: Annotated[
        int,
        typer.Option(min=1, help="Runs of the embedding-only baseline (best is kept)."),
    ] = 3,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.")
    ] = False,
) -> None:
    """Ingest throughput (chunks/s) beside embedding alone on the same chunks."""
    paths_k = knowledge if knowledge is not None else DEFAULT_KNOWLEDGE
    paths_i = interactions if interactions is not None else DEFAULT_INTERACTIONS
    for path in [*paths_k, *paths_i]:
        if not path.is_file():
            raise typer.BadParameter(
                f"{path}: no such file (run from the repository root, or pass paths)"
            )
    err.print("running the full ingest, then embedding alone ...")
    result = IngestBenchmark(paths_k, paths_i, repeats).run()
    if as_json:
        print(json.dumps(result))
        return
    table = Table(
        title=f"Ingest throughput on {result['dataset']} ({result['n']} chunks)"
    )
    for column in ("system", "chunks/s", "seconds", "ratio to baseline"):
        table.add_column(column, justify="right" if column != "system" else "left")
    for name, figures in result["systems"].items():
        table.add_row(
            name,
            f"{figures['chunks_per_s']:.1f}",
            f"{figures['seconds']:.2f}",
            f"{figures['ratio_to_baseline']:.3f}",
        )
    out.print(table)


@app.command("identity")
def identity(
    data: Annotated[
        Path,
        typer.Argument(help="The EVI folder (records.en.csv, dialogues.en.tsv)."),
    ] = IDENTITY_DATA,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Only the first N calls by dialogue id."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.")
    ] = False,
) -> None:
    """Spoken caller identification on EVI beside exact postcode + DOB matching."""
    for name in ("records.en.csv", "dialogues.en.tsv"):
        if not (data / name).is_file():
            raise typer.BadParameter(
                f"{data / name}: no such file (pass the EVI folder as DATA)"
            )
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("resolving calls", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_identity(data, limit=limit, progress=advance)
    if as_json:
        print(json.dumps(result))
        return
    settings = result["settings"]
    table = Table(
        title=(
            f"Caller identification on {result['dataset']}: {result['n']} reported "
            f"calls, {settings['n_profiles']} profiles, threshold "
            f"{settings['accept_threshold']} (chosen on {settings['n_dev']} "
            "development calls)"
        )
    )
    for column in ("system", "top1_accuracy", "false_accept_rate", "abstain_rate"):
        table.add_column(column, justify="right" if column != "system" else "left")
    for name, figures in result["systems"].items():
        table.add_row(
            name,
            f"{figures['top1_accuracy']:.4f}",
            f"{figures['false_accept_rate']:.4f}",
            f"{figures['abstain_rate']:.4f}",
        )
    out.print(table)
    err.print(f"runtime {result['runtime_s']} s")
