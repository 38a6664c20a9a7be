"""`cx-context doctor`: do the vector store and the database agree?"""

import json
from typing import Annotated

import typer
from rich.markup import escape

from cx_context.knowledge.doctor import SHOWN_IDS, StoreDoctor
from cx_context.service.console import JsonFlag, err, out, services_of


def doctor_command(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Delete chunks no record names; mark records with missing "
            "chunks for re-ingest.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check that every chunk has its record and every record its chunks.

    Exits 1 when they disagree (after a repair: when they still do).
    """
    services = services_of(ctx)
    doctor = StoreDoctor(services.sessions, services.store)
    report = doctor.repair() if repair else doctor.check()
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        for check in report.checks:
            line = (
                f"{check.collection.value}: {check.records} records, "
                f"{check.chunks} chunks; {len(check.orphan_chunks)} chunks without "
                f"a record, {len(check.stale_chunks)} of an old version, "
                f"{len(check.incomplete_records)} records missing chunks"
            )
            out.print(escape(line), highlight=False)
            if check.incomplete_records:
                shown = check.incomplete_records[:SHOWN_IDS]
                more = len(check.incomplete_records) - len(shown)
                out.print(
                    escape(
                        f"  to ingest again: {', '.join(shown)}"
                        + (f" and {more} more (--json lists all)" if more else "")
                    ),
                    highlight=False,
                )
        if report.repaired:
            out.print(
                escape(
                    f"repaired: {report.repaired['chunks_deleted']} chunks deleted, "
                    f"{report.repaired['records_to_reingest']} records to ingest "
                    "again from their source"
                ),
                highlight=False,
            )
        if report.consistent:
            out.print("consistent")
        else:
            err.print(
                "[red]inconsistent[/red]: "
                + (
                    "ingest the listed records' sources again"
                    if repair
                    else "run `cx-context doctor --repair`, then ingest again"
                ),
                highlight=False,
            )
    if not report.consistent:
        raise typer.Exit(code=1)
