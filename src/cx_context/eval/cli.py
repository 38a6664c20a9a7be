"""`cx-context eval ...`: evaluations that print our figures beside a baseline's."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cx_context.eval.bench_ingest import (
    DEFAULT_INTERACTIONS,
    DEFAULT_KNOWLEDGE,
    IngestBenchmark,
)

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
