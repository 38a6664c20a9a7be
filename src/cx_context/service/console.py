"""What every command-line module shares: the consoles, the --json flag, errors."""

from typing import Annotated

import typer
from rich.console import Console

from cx_context.service.wiring import Services

# Customer-facing text goes through rich.markup.escape(): square brackets in
# it ("[1]", "[Offer Refund]") are content, not markup. Lines are not wrapped,
# so output piped to a file keeps one line per item.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of text.")
]


class CliError(Exception):
    """An error to show the user as one line, with exit code 1."""


def services_of(ctx: typer.Context) -> Services:
    """The wired services that the main callback put on the context."""
    services = ctx.find_root().obj
    assert isinstance(services, Services)
    return services
