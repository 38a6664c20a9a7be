"""The `cx-context` command line."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.exceptions import TyperException

from cx_context.context.errors import ContextError
from cx_context.context.summaries import FIELD_TITLES, Field, Summary
from cx_context.guardrails import GuardrailError
from cx_context.knowledge.adapters import (
    InteractionFormat,
    KnowledgeFormat,
    read_interactions,
    read_knowledge,
)
from cx_context.knowledge.errors import KnowledgeError
from cx_context.knowledge.ingest import IngestReport
from cx_context.knowledge.records import Channel
from cx_context.service.cli_agents import (
    draft_command,
    handoff_command,
    wrapup_command,
)
from cx_context.service.cli_answers import read_dialogue
from cx_context.service.cli_customers import (
    context_command,
    customers_app,
    events_app,
    identity_app,
    reidentify_command,
    vault_app,
)
from cx_context.service.cli_doctor import doctor_command
from cx_context.service.cli_keys import keys_app
from cx_context.service.cli_knowledge import gaps_command, health_command
from cx_context.service.cli_risks import risks_app
from cx_context.service.cli_scorecard import scorecard_command
from cx_context.service.console import CliError, JsonFlag, err, out, services_of
from cx_context.service.keys import TenantIdError
from cx_context.service.logs import configure_logging
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services

app = typer.Typer(
    name="cx-context",
    help="Redacted, grounded, cited AI context for customer service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ingest_app = typer.Typer(
    help="Redact, chunk, embed and store records.", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(customers_app, name="customers")
app.add_typer(events_app, name="events")
app.add_typer(vault_app, name="vault")
app.add_typer(identity_app, name="identity")
app.add_typer(risks_app, name="risks")
app.add_typer(keys_app, name="keys")
app.command("doctor")(doctor_command)
app.command("context")(context_command)
app.command("reidentify")(reidentify_command)
app.command("handoff")(handoff_command)
app.command("wrapup")(wrapup_command)
app.command("draft")(draft_command)
app.command("scorecard")(scorecard_command)
app.command("gaps")(gaps_command)
app.command("health")(health_command)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Data directory (default: $CX_DATA_DIR or ./cx-data).",
            show_default=False,
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            envvar="CX_TENANT",
            help="Work on this tenant's data (default: the default tenant). "
            "API keys are shared by all tenants.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")
    ] = False,
) -> None:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if verbose:
        overrides["log_level"] = "INFO"
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise CliError(f"invalid settings: {_settings_problem(exc)}") from None
    configure_logging(settings.log_level)
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise CliError(
            f"--data-dir (or CX_DATA_DIR): {settings.data_dir} is a file; "
            "give a directory (it is made if missing)"
        )
    try:
        ctx.obj = Services(settings, tenant=tenant or None)
    except TenantIdError as exc:
        raise CliError(f"--tenant (or CX_TENANT): {exc}") from None


def _settings_problem(exc: ValidationError) -> str:
    return "; ".join(
        f"CX_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    )


_services = services_of


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and total < 1,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _print_report(
    report: IngestReport, as_json: bool, links: dict[str, int] | None = None
) -> None:
    if as_json:
        body = report.to_dict()
        if links is not None:
            body["customer_links"] = links
        out.print_json(json.dumps(body))
    else:
        table = Table(title=f"Ingested {report.source}", show_header=True)
        for name in report.counts:
            table.add_column(name, justify="right")
        table.add_row(*(str(count) for count in report.counts.values()))
        out.print(table)
        out.print(
            f"chunks written: {report.chunks_written}, "
            f"chunks removed: {report.chunks_removed}"
        )
        if report.quarantined:
            err.print(
                f"[yellow]quarantined[/yellow] {len(report.quarantined)} chunks the "
                "injection screen flagged (never retrieved; see `cx-context risks "
                "list`): " + escape(", ".join(report.quarantined[:5])),
                highlight=False,
            )
        for record in report.problems:
            where = f"{report.source}: {record.where}"
            err.print(
                f"[red]rejected[/red] {escape(where)}: {escape(record.problem or '')}",
                highlight=False,
            )
        if report.source_error:
            err.print(
                f"[red]error[/red] {escape(report.source_error)}", highlight=False
            )
    if not report.ok:
        raise typer.Exit(code=1)


@ingest_app.command("knowledge")
def ingest_knowledge(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="A knowledge file (ABCD guidelines, DSTC11, JSONL).")
    ],
    fmt: Annotated[
        KnowledgeFormat, typer.Option("--format", help="Input format.")
    ] = KnowledgeFormat.AUTO,
    as_json: JsonFlag = False,
) -> None:
    """Ingest policy and knowledge documents."""
    services = _services(ctx)
    items = list(read_knowledge(path, fmt))
    with _progress(f"knowledge from {path.name}", len(items)) as advance:
        report = services.ingestor.ingest_documents(items, path.name, advance)
    _print_report(report, as_json)


@ingest_app.command("interactions")
def ingest_interactions(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="A transcript file in one of the formats below.")
    ],
    fmt: Annotated[
        InteractionFormat, typer.Option("--format", help="Input format.")
    ] = InteractionFormat.AUTO,
    as_json: JsonFlag = False,
) -> None:
    """Ingest calls, chats, emails and bot conversations."""
    services = _services(ctx)
    items = list(read_interactions(path, fmt))
    with _progress(f"interactions from {path.name}", len(items)) as advance:
        report, links = services.ingest_interactions(items, path.name, advance)
    if links["linked"] and not as_json:
        out.print(f"linked to customers: {links['linked']}")
    _print_report(report, as_json, links)


def _parse_filters(values: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for value in values:
        name, sep, wanted = value.partition("=")
        if not sep or not name.strip() or not wanted.strip():
            raise CliError(f"--filter must look like name=value, got {value!r}")
        filters.setdefault(name.strip(), []).append(wanted.strip())
    return filters


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[
        str | None, typer.Argument(help="The customer's question (or --dialogue).")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="name=value, repeatable: source, audience, owner, document_id, tag.",
        ),
    ] = None,
    k: Annotated[
        int | None, typer.Option("-k", min=1, max=50, help="Passages to retrieve.")
    ] = None,
    dialogue: Annotated[
        Path | None,
        typer.Option(
            "--dialogue",
            help='A JSON list of {"speaker", "text"} turns; its last user turn '
            "is answered, earlier turns say what it refers to.",
        ),
    ] = None,
    channel: Annotated[
        Channel | None,
        typer.Option(help="Where the question came from, kept with it in the log."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a question (or a dialogue) from the knowledge base, cited, or abstain."""
    if question is None and dialogue is None:
        raise CliError("no question given: give a QUESTION or --dialogue FILE")
    if question is not None and dialogue is not None:
        raise CliError("give either a QUESTION or --dialogue FILE, not both")
    turns = None if dialogue is None else read_dialogue(dialogue)
    services = _services(ctx)
    answer = services.answerer.answer(
        question, _parse_filters(filters or []), k, dialogue=turns, channel=channel
    )
    if as_json:
        out.print_json(json.dumps(answer.to_dict()))
        return
    out.print(
        f"[bold]Question[/bold] (as stored): {escape(answer.question)}", highlight=False
    )
    if answer.abstained:
        out.print(f"[bold yellow]{escape(answer.text)}[/bold yellow]")
        out.print(f"Reason: {escape(answer.reason or '')}.", highlight=False)
        return
    out.print(f"[bold]Answer[/bold]: {escape(answer.text)}", highlight=False)
    out.print("[bold]Sources[/bold]:")
    for c in answer.citations:
        line = f"  [{c.number}] {c.title} › {c.section}  (score {c.score:.3f})"
        out.print(escape(line), highlight=False)


def _print_summary(summary: Summary) -> None:
    intent = f"; intent {summary.intent}" if summary.intent else ""
    heading = (
        f"Summary of {summary.interaction_id} "
        f"({summary.channel}, {summary.source_system}, "
        f"{summary.turn_count} turns{intent})"
    )
    out.print(f"[bold]{escape(heading)}[/bold]", highlight=False)
    for name in Field:
        out.print(f"[bold]{FIELD_TITLES[name]}[/bold]")
        lines = summary.field_lines(name)
        if not lines:
            out.print("  - nothing found in the conversation")
        for line in lines:
            where = (
                f"turn {', '.join(map(str, line.turns))}" if line.turns else "record"
            )
            text = f"  - {line.speaker.capitalize()}: {line.text}  [{where}]"
            out.print(escape(text), highlight=False)


@app.command()
def summarize(
    ctx: typer.Context,
    interaction_id: Annotated[
        str, typer.Argument(help="Interaction id, e.g. abcd-3592.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Summarize one interaction, each line citing the turns it came from."""
    summary = _services(ctx).summarizer.summarize(interaction_id)
    if as_json:
        out.print_json(json.dumps(summary.to_dict()))
    else:
        _print_summary(summary)


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show what is stored and whether the stores answer."""
    services = _services(ctx)
    report = {**services.health(), "records": services.catalog.counts()}
    if as_json:
        out.print_json(json.dumps(report))
        return
    if services.tenant is not None:
        out.print(escape(f"tenant: {services.tenant}"), highlight=False)
    out.print(escape(f"data directory: {services.data_dir}"), highlight=False)
    for key, value in report.items():
        out.print(escape(f"{key}: {value}"), highlight=False)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from cx_context.service.app import create_app
    from cx_context.service.memory import tune_allocator

    tune_allocator()
    services = _services(ctx)
    if services.tenant is not None:
        raise CliError(
            "serve takes no --tenant (or CX_TENANT): each request works on the "
            "tenant of its API key"
        )
    services.warm_up()
    services.warm_up_compute()
    # No access log: it prints raw paths and query strings, which may carry
    # identifiers; the service logs each request with its route template.
    uvicorn.run(
        create_app(services),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )


_plugins_loaded = False


def _load_plugins() -> None:
    # Evaluation commands live in cx_context.eval, which nothing may import;
    # it registers its commands through an entry point instead.
    global _plugins_loaded  # noqa: PLW0603 (once per process)
    if not _plugins_loaded:
        for entry in entry_points(group="cx_context.commands"):
            app.add_typer(entry.load(), name=entry.name)
        _plugins_loaded = True


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    _load_plugins()
    try:
        code = app(args=args, prog_name="cx-context", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, TyperException):
            # Usage errors (unknown option, bad --format value) explain themselves.
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                err.print(
                    f"[red]error[/red]: {escape(exc.format_message())}", highlight=False
                )
            sys.exit(exc.exit_code)
        if isinstance(exc, CliError | KnowledgeError | ContextError | GuardrailError):
            err.print(f"[red]error[/red]: {escape(str(exc))}", highlight=False)
        elif isinstance(exc, OSError) and exc.filename is not None:
            # A file or folder the command could not read or write.
            err.print(
                f"[red]error[/red]: {escape(str(exc.filename))}: "
                f"{escape(exc.strerror or type(exc).__name__)}",
                highlight=False,
            )
        else:
            err.print(
                f"[red]error[/red]: unexpected {type(exc).__name__}; "
                "run again with --debug to see where",
                highlight=False,
            )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
