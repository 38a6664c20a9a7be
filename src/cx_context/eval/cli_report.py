"""`cx-context eval report`: run the evaluations and write one Markdown report."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cx_context.eval.report import QUICK, SECTIONS, ReportOptions, run_report

err = Console(stderr=True)


def _keys(values: list[str] | None) -> list[str]:
    return [key.strip() for value in values or [] for key in value.split(",") if key]


def report_command(
    out: Annotated[
        Path, typer.Option(help="Folder of the report (README.md, charts).")
    ] = Path("docs/eval-report"),
    data: Annotated[Path, typer.Option(help="The shared data folder.")] = Path(
        "../shared/data"
    ),
    only: Annotated[
        list[str] | None,
        typer.Option(help="Run only these sections (comma-separated or repeated)."),
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option(help="Leave these sections out.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Smaller slow runs: context 20,000 chunks and 2,000 customers, "
            "identity 600 calls, retrieval and abstention 400 (the report says so).",
        ),
    ] = False,
    context_chunks: Annotated[int | None, typer.Option(min=1)] = None,
    context_customers: Annotated[int | None, typer.Option(min=1)] = None,
    context_questions: Annotated[int | None, typer.Option(min=1)] = None,
    identity_limit: Annotated[int | None, typer.Option(min=1)] = None,
    answers_limit: Annotated[
        int | None, typer.Option(min=1, help="Retrieval and abstention: first N.")
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="A paragraph for the report, under its header.")
    ] = None,
    rewrite: Annotated[
        bool,
        typer.Option(
            "--rewrite", help="Run nothing: write the report again from results.json."
        ),
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Keep the last results of sections not run now (from results.json).",
        ),
    ] = False,
) -> None:
    """Every evaluation on its default data, one report with tables and charts.

    Sections:"""
    options = ReportOptions(data=data, quick=quick, note=note)
    if quick:
        options = replace(options, **QUICK)  # type: ignore[arg-type]
    for name, value in (
        ("context_chunks", context_chunks),
        ("context_customers", context_customers),
        ("context_questions", context_questions),
        ("identity_limit", identity_limit),
        ("answers_limit", answers_limit),
    ):
        if value is not None:
            options = replace(options, **{name: value})  # type: ignore[arg-type]
    try:
        outcomes = run_report(
            out,
            options,
            lambda m: err.print(m, highlight=False),
            _keys(only),
            _keys(skip),
            update=update or rewrite,
            run=not rewrite,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    ran = sum(1 for o in outcomes if o.status == "ok")
    err.print(f"wrote {out / 'README.md'}: {ran} of {len(outcomes)} sections ran")
    for outcome in outcomes:
        if outcome.status != "ok":
            err.print(f"  {outcome.section.key}: {outcome.status} ({outcome.message})")
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(code=1)


report_command.__doc__ = (
    (report_command.__doc__ or "") + ", ".join(s.key for s in SECTIONS) + "."
)
