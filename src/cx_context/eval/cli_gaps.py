"""`cx-context eval gaps`: uncovered BANKING77 intents found as content gaps."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cx_context.eval.gaps import DEFAULT_DATA, GapEvaluation

out = Console()
err = Console(stderr=True)


def gaps_command(
    data: Annotated[
        Path,
        typer.Argument(help="The BANKING77 folder (train.csv, test.csv)."),
    ] = DEFAULT_DATA,
    per_intent: Annotated[
        int | None,
        typer.Option(
            min=1, help="Ask only the first N test questions of each intent (seeded)."
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Build the knowledge base here instead of a temp folder."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.")
    ] = False,
) -> None:
    """Recall and precision of the gaps found for 15 intents left uncovered."""
    for name in ("train.csv", "test.csv", "categories.json"):
        if not (data / name).is_file():
            raise typer.BadParameter(
                f"{data / name}: no such file (pass the BANKING77 folder as DATA)"
            )
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("building the knowledge base", total=None)

        def advance(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        result = GapEvaluation(data, per_intent, workdir, advance).run()
    if as_json:
        print(json.dumps(result))
        return
    settings = result["settings"]
    chosen = (
        "the setting chosen"
        if settings["defaults_are_dev_choice"]
        else f"NOT the setting chosen ({settings['dev_choice']})"
    )
    table = Table(
        title=(
            f"Content gaps on {result['dataset']}: {result['n']} test questions, "
            f"{len(settings['uncovered_intents'])} intents uncovered (seed "
            f"{settings['seed']}); cx-context is the service's gap finder with its "
            f"defaults (cut {settings['cluster_distance']}, at least "
            f"{settings['min_questions']} questions, weakness "
            f"{settings['min_weakness']}, {settings['min_unfamiliar']} unfamiliar "
            f"words per question, sentence support {settings['min_unsupported']} "
            f"under the answered questions'), {chosen} on {settings['n_dev']} dev "
            "questions"
        )
    )
    table.add_column("system", no_wrap=True)
    for header in ("recall", "precision", "gaps"):
        table.add_column(header, justify="right")
    for name, figures in result["systems"].items():
        table.add_row(
            name,
            f"{figures['recall']:.3f}",
            f"{figures['precision']:.3f}",
            str(figures["n_gaps"]),
        )
    out.print(table)
    out.print("uncovered intents: " + ", ".join(settings["uncovered_intents"]))
    out.print(f"scoring: {settings['hit_rule']}")
    err.print(f"runtime {result['runtime_s']} s")
