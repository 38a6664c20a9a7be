"""`cx-context eval estate`: build the realistic scorecard estate in a folder."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cx_context.eval.estate import EstateBuilder, write_summary
from cx_context.guardrails.sealing import new_key
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services

err = Console(stderr=True)


def estate_command(
    out: Annotated[
        Path, typer.Option("--out", help="Data directory to build (must be new).")
    ],
    data: Annotated[
        Path,
        typer.Argument(help="Shared data folder: evi-identity, sgd, tweetsumm, abcd."),
    ] = Path("../shared/data"),
    customers: Annotated[
        int, typer.Option(min=1, help="Customers (EVI profiles).")
    ] = 40,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 11,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.")
    ] = False,
) -> None:
    """A realistic estate (EVI, SGD, TweetSumm, ABCD) through the real pipeline.

    The vault key is written beside the data directory (OUT.vault-key), never
    in it. Then: `cx-context --data-dir OUT scorecard`.
    """
    if out.exists() and any(out.iterdir()):
        raise typer.BadParameter(f"{out}: exists and is not empty (pass a new folder)")
    builder = EstateBuilder(data, customers=customers, seed=seed)
    try:
        builder.check()
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from None
    key_file = out.with_name(out.name + ".vault-key")
    if not key_file.exists():
        key_file.write_text(new_key() + "\n", encoding="ascii")
        key_file.chmod(0o600)
    services = Services(Settings(data_dir=out, vault_key_file=key_file))
    try:
        summary = builder.build(services, lambda m: err.print(m, highlight=False))
    finally:
        services.close()
    summary["vault_key_file"] = str(key_file)
    write_summary(out, summary)
    if as_json:
        print(json.dumps(summary))
        return
    err.print(
        f"built {summary['contacts']} contacts of {summary['customers']} customers "
        f"({summary['journeys']} journeys) in {out} in {summary['runtime_s']} s; "
        f"vault key in {key_file}",
        highlight=False,
    )
    print(f"cx-context --data-dir {out} scorecard")
