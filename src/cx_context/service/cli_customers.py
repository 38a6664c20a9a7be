"""Commands for the unified customer record: customers, events, context, vault."""

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cx_context.context.bundle import AssemblyPurpose, ContextBundle
from cx_context.context.customer_sources import CustomerFormat, read_customers
from cx_context.context.events import EventApplier, EventOutcome, outcome_counts
from cx_context.context.identity.model import Claims
from cx_context.guardrails.sealing import new_key
from cx_context.knowledge.adapters.base import iter_jsonl, load_json
from cx_context.service.console import CliError, JsonFlag, err, out, services_of

customers_app = typer.Typer(
    help="The unified customer record: import, show, timeline, merge.",
    no_args_is_help=True,
)
events_app = typer.Typer(help="State changes as CloudEvents.", no_args_is_help=True)
vault_app = typer.Typer(help="The key that seals identifiers.", no_args_is_help=True)
identity_app = typer.Typer(help="Who a contact is.", no_args_is_help=True)


def _plain(line: str) -> None:
    out.print(escape(line), highlight=False)


@vault_app.command("new-key")
def vault_new_key(
    path: Annotated[
        Path | None,
        typer.Option("--out", help="Write the key to this file (mode 600)."),
    ] = None,
) -> None:
    """Make a new vault key; keep it outside the data directory."""
    key = new_key()
    if path is None:
        print(key)
        return
    if path.exists():
        raise CliError(f"{path} exists; refusing to overwrite a vault key")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    err.print(f"vault key written to {escape(str(path))}; set CX_VAULT_KEY_FILE to it")


@customers_app.command("import")
def import_customers(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="ABCD dialogues or customer JSONL.")],
    fmt: Annotated[
        CustomerFormat, typer.Option("--format", help="Input format.")
    ] = CustomerFormat.AUTO,
    as_json: JsonFlag = False,
) -> None:
    """Add or update customers, each in its own transaction."""
    services = services_of(ctx)
    report = services.customers.upsert_parsed(list(read_customers(path, fmt)))
    problems = [
        {
            **problem,
            "where": f"{problem['unit']} {problem['position']}"
            + (f" (id {problem['id']})" if problem["id"] else ""),
        }
        for problem in report.problems
    ]
    if as_json:
        out.print_json(json.dumps({"stored": len(report.stored), "rejected": problems}))
    else:
        _plain(f"customers stored: {len(report.stored)}, rejected: {len(problems)}")
        for problem in problems:
            err.print(
                f"[red]rejected[/red] {escape(path.name)}: {escape(problem['where'])}: "
                f"{escape(problem['error'])}",
                highlight=False,
            )
    if problems:
        raise typer.Exit(code=1)


@customers_app.command("show")
def show_customer(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="Customer (party) id.")],
    as_json: JsonFlag = False,
) -> None:
    """Show a customer: masked identifiers, cases, consents, risk flags."""
    view = services_of(ctx).customers.get(customer_id)
    if as_json:
        out.print_json(view.model_dump_json())
        return
    _plain(f"customer {view.id} ({view.kind}, {view.source_system})")
    if view.name_masked:
        _plain(f"  name: {view.name_masked}")
    for identifier in view.identifiers:
        _plain(f"  {identifier.kind}: {identifier.masked} ({identifier.source_system})")
    for case in view.cases:
        _plain(f"  case {case.id}: {case.status}, {case.intent or 'no intent'}")
    for consent in view.consents:
        state = "in force" if consent.in_force else "not in force"
        _plain(f"  consent {consent.purpose}: {consent.status} ({state})")
    for flag in view.risk_flags:
        _plain(f"  risk flag {flag.kind} ({flag.severity})")
    _plain(f"  interactions: {', '.join(view.interaction_ids) or 'none'}")


@customers_app.command("timeline")
def show_timeline(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="Customer (party) id.")],
    as_json: JsonFlag = False,
) -> None:
    """A customer's contacts across channels, with handoffs and repeat contacts."""
    services = services_of(ctx)
    timeline = services.assembler.timeline(customer_id).as_dict()
    if as_json:
        out.print_json(json.dumps(timeline, default=str))
        return
    table = Table(title=f"Timeline of {customer_id}")
    for column in ("started", "channel", "interaction", "intent", "outcome", "repeat"):
        table.add_column(column)
    for entry in timeline["entries"]:
        table.add_row(
            *(
                escape(str(entry[key] or ""))
                for key in (
                    "started_at",
                    "channel",
                    "interaction_id",
                    "intent",
                    "outcome",
                    "repeat_of",
                )
            )
        )
    out.print(table)
    for handoff in timeline["handoffs"]:
        _plain(f"handoff ({handoff['kind']}): {handoff['detail']}")
    for case in timeline["open_cases"]:
        _plain(f"open case {case['id']}: {case['intent'] or 'no intent'}")


@customers_app.command("merge")
def merge_customers(
    ctx: typer.Context,
    survivor: Annotated[str, typer.Argument(help="The customer that remains.")],
    merged: Annotated[str, typer.Argument(help="The customer folded into it.")],
    decided_by: Annotated[str, typer.Option("--by", help="Who decided.")],
    reason: Annotated[str | None, typer.Option(help="Why they are one.")] = None,
) -> None:
    """Fold one customer into another; prints the merge id for `unmerge`."""
    merge_id = services_of(ctx).customers.merge(
        survivor, merged, decided_by, 1.0, reason
    )
    _plain(f"merged {merged} into {survivor} (merge {merge_id})")


@customers_app.command("unmerge")
def unmerge_customers(
    ctx: typer.Context,
    merge_id: Annotated[int, typer.Argument(help="The id `merge` printed.")],
    undone_by: Annotated[str, typer.Option("--by", help="Who undoes it.")],
) -> None:
    """Undo a merge: everything that moved goes back."""
    services_of(ctx).customers.unmerge(merge_id, undone_by)
    _plain(f"merge {merge_id} undone")


def apply_event_file(events: EventApplier, path: Path) -> list[EventOutcome]:
    """Apply events from a JSON object, a JSON array (a batch) or JSON lines.

    A JSON lines file is read line by line: a line that is not JSON is
    rejected on its own, and positions are line numbers.
    """
    if path.suffix != ".jsonl":
        data = load_json(path)
        return events.apply_many(data if isinstance(data, list) else [data])
    outcomes = []
    for line, data, problem in iter_jsonl(path):
        if problem is None:
            outcomes.append(events.apply(data, line - 1))
        else:
            outcomes.append(EventOutcome(line - 1, None, "rejected", problem))
    return outcomes


@events_app.command("apply")
def apply_events(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CloudEvents: JSON, array or JSONL.")],
    as_json: JsonFlag = False,
) -> None:
    """Apply state-change events once each; rejected ones say why."""
    outcomes = apply_event_file(services_of(ctx).events, path)
    rows = [o.to_dict() for o in outcomes]
    counts = outcome_counts(outcomes)
    unit = "line" if path.suffix == ".jsonl" else "event"
    if as_json:
        out.print_json(json.dumps({"counts": counts, "events": rows}))
    else:
        _plain(", ".join(f"{name}: {count}" for name, count in counts.items()))
        for row in rows:
            if row["status"] != "applied":
                err.print(
                    f"{row['status']} {escape(path.name)}: {unit} {row['position']} "
                    f"(id {escape(str(row['id']))}): {escape(str(row['reason']))}",
                    highlight=False,
                )
    if counts["rejected"]:
        raise typer.Exit(code=1)


def context_command(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="Customer (party) id.")],
    purpose: Annotated[
        AssemblyPurpose, typer.Option(help="Who the context is for.")
    ] = AssemblyPurpose.AGENT_ASSIST,
    question: Annotated[
        str | None, typer.Option(help="The question to retrieve knowledge for.")
    ] = None,
    interaction: Annotated[
        str | None, typer.Option(help="The current contact (its turns ask).")
    ] = None,
    budget: Annotated[int, typer.Option(min=1, help="Token budget.")] = 2000,
    messages: Annotated[
        bool, typer.Option("--messages", help="Print it as LLM prompt messages.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Assemble the grounded, consent-filtered context for one customer."""
    bundle = services_of(ctx).assembler.assemble(
        customer_id, purpose, question, interaction, budget
    )
    if as_json:
        out.print_json(json.dumps(bundle.as_dict(), default=str))
    elif messages:
        for message in bundle.to_messages():
            _plain(f"--- {message.type}")
            _plain(str(message.content))
    else:
        print_bundle(bundle)


def print_bundle(bundle: ContextBundle) -> None:
    _plain(
        f"Context for {bundle.customer_id} ({bundle.purpose.value}): "
        f"{len(bundle.items)} items, {bundle.tokens} of {bundle.token_budget} tokens"
    )
    if bundle.query:
        _plain(f"Query (redacted): {bundle.query}")
    kind = None
    for number, item in enumerate(bundle.items, start=1):
        if item.kind != kind:
            kind = item.kind
            out.print(f"[bold]{escape(kind)}[/bold]")
        source = item.provenance
        where = f"{source.source_system} {source.chunk_id or source.record_id}"
        if source.score is not None:
            where += f", score {source.score:.3f}"
        text = item.text if len(item.text) <= 160 else item.text[:157] + "..."
        _plain(f"  [{number}] {' '.join(text.split())}  ({where})")
    if bundle.excluded:
        out.print("[bold]Left out[/bold]")
        for reason, count in sorted(bundle.excluded.items()):
            _plain(f"  {count} x {reason}")
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in bundle.timings_ms.items())
    _plain(f"Timings: {timings}")


@identity_app.command("resolve")
def resolve_identity(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    account_number: Annotated[str | None, typer.Option(help="Account number.")] = None,
    username: Annotated[str | None, typer.Option(help="Username.")] = None,
    name: Annotated[
        list[str] | None, typer.Option(help="Name as said or typed; repeatable.")
    ] = None,
    postcode: Annotated[
        list[str] | None, typer.Option(help="Postcode as said or typed; repeatable.")
    ] = None,
    dob: Annotated[
        list[str] | None,
        typer.Option(help="Date of birth as said or typed; repeatable."),
    ] = None,
    interaction: Annotated[
        str | None, typer.Option(help="Link this interaction when accepted.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Resolve a contact to a customer, with a confidence and its reasons."""
    strong = {
        "email": email,
        "phone": phone,
        "account_number": account_number,
        "username": username,
    }
    claims = Claims.of(
        identifiers=[(kind, value) for kind, value in strong.items() if value],
        name=name or [],
        postcode=postcode or [],
        dob=dob or [],
    )
    if not claims.identifiers and not claims.has_weak:
        raise CliError("give at least one identifier, name, postcode or dob")
    resolution = services_of(ctx).resolve_identity(claims, interaction)
    if as_json:
        out.print_json(json.dumps(resolution.to_dict()))
        return
    if resolution.accepted:
        _plain(f"match: {resolution.party_id} (confidence {resolution.confidence:.3f})")
    else:
        _plain(f"no match accepted ({resolution.status})")
    _plain(resolution.explanation())
    for candidate in resolution.candidates:
        _plain(f"  candidate {candidate.party_id}: {candidate.confidence:.3f}")
    if interaction and resolution.accepted:
        _plain(f"linked {interaction} to {resolution.party_id}")


def reidentify_command(
    ctx: typer.Context,
    interaction_id: Annotated[str, typer.Argument(help="Interaction id.")],
    role: Annotated[str, typer.Option(help="Who asks: admin or risk.")],
    reason: Annotated[str, typer.Option(help="Why; kept in the risk log as a hash.")],
    as_json: JsonFlag = False,
) -> None:
    """Show an interaction as it was said; admin and risk only, and logged."""
    restored = services_of(ctx).reidentifier.restore(interaction_id, role, reason)
    if as_json:
        out.print_json(json.dumps(restored.to_dict()))
        return
    for turn in restored.turns:
        _plain(f"[{turn.number}] {turn.speaker}: {turn.text}")
    err.print(
        f"{restored.values_restored} values restored; risk event "
        f"{restored.risk_event_id}",
        highlight=False,
    )
