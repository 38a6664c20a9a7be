"""Commands for API keys: create (the key is printed once), list, revoke."""

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cx_context.service.console import CliError, JsonFlag, err, out, services_of
from cx_context.service.keys import ApiKeyError, Role

keys_app = typer.Typer(
    help="API keys of the HTTP API, one role (and optionally a tenant) each.",
    no_args_is_help=True,
)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[
        Role, typer.Option("--role", help="What the key may do.", case_sensitive=False)
    ],
    tenant: Annotated[
        str | None,
        typer.Option(
            help="Bind the key to one tenant's data (default: the default tenant)."
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="A note on who holds the key.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the key.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Make a key and print it; it cannot be shown again."""
    try:
        key = services_of(ctx).api_keys.create(role, tenant=tenant, label=label)
    except ApiKeyError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(key.to_dict()))
    elif quiet:
        out.print(key.token, highlight=False)
    else:
        out.print(key.token, highlight=False)
        where = f", tenant {key.tenant}" if key.tenant else ", the default tenant"
        err.print(
            escape(
                f"key {key.key_id} for role {key.role.value}{where}: send it as "
                "'Authorization: Bearer <key>'; it is stored only as a hash and "
                "cannot be shown again"
            ),
            highlight=False,
        )


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    include_revoked: Annotated[
        bool, typer.Option("--all", help="Include revoked keys.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List keys (ids, roles, tenants; never the keys themselves)."""
    keys = services_of(ctx).api_keys.list(include_revoked=include_revoked)
    if as_json:
        out.print_json(json.dumps({"keys": [k.to_dict() for k in keys]}))
        return
    table = Table(title="API keys")
    # The id is what `keys revoke` takes: never shortened, whatever the width.
    table.add_column("key id", no_wrap=True, min_width=16)
    for column in ("role", "tenant", "label", "created", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.key_id,
            k.role.value,
            # A key without a tenant works on the default tenant only.
            escape(k.tenant or "(default)"),
            escape(k.label or ""),
            k.created_at.isoformat(timespec="seconds"),
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key; requests with it are refused from then on."""
    try:
        key = services_of(ctx).api_keys.revoke(key_id)
    except ApiKeyError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(key.to_dict()))
    else:
        out.print(escape(f"revoked key {key.key_id} ({key.role.value})"))
