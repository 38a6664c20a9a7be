"""`cx-context handoff | wrapup | draft`: what agents read around a contact."""

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from cx_context.context.handoff import SECTION_TITLES, Section
from cx_context.service.console import JsonFlag, out, services_of


def _plain(line: str) -> None:
    out.print(escape(line), highlight=False)


def _turns(item: dict[str, Any]) -> str:
    turns = item.get("turns") or []
    return f"turn {', '.join(map(str, turns))}" if turns else "record"


def handoff_command(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="Customer (party) id.")],
    as_json: JsonFlag = False,
) -> None:
    """Handoff summary of a customer across their recent contacts on every channel."""
    body = services_of(ctx).agent_summaries.handoff(customer_id)
    if as_json:
        out.print_json(json.dumps(body, default=str))
        return
    contacts = ", ".join(
        f"{i['channel']} {i['interaction_id']}" for i in body["interactions"]
    )
    _plain(f"Handoff for {customer_id}: {contacts or 'no contacts'}")
    if body["empty_reason"]:
        _plain(f"Nothing summarized: {body['empty_reason']}")
    _plain(
        "Identity: "
        + (
            "verified"
            if body["identity_verified"]
            else "not verified in these contacts"
        )
    )
    for name in Section:
        lines = body["sections"][name.value]
        if not lines:
            continue
        _plain(SECTION_TITLES[name])
        for line in lines:
            _plain(f"  - {line['speaker']}: {line['text']}  [{line['source']}]")
    for skipped in body["skipped"]:
        _plain(f"Skipped {skipped['interaction_id']}: {skipped['reason']}")
    prose = body.get("prose")
    if prose:
        _plain(
            f"Note ({prose['model']}, {prose['prompt']}): {prose['text']}"
            if prose["text"]
            else f"Generated note withheld: {prose['fallback_reason']}"
        )


def wrapup_command(
    ctx: typer.Context,
    interaction_id: Annotated[str, typer.Argument(help="Interaction id.")],
    as_json: JsonFlag = False,
) -> None:
    """After-contact wrap-up: reason, resolution, actions, follow-ups, disposition."""
    body = services_of(ctx).agent_summaries.wrapup(interaction_id)
    if as_json:
        out.print_json(json.dumps(body, default=str))
        return
    _plain(
        f"Wrap-up of {interaction_id} ({body['channel']}): disposition "
        f"{body['disposition'] or 'none'}"
        + (f" (cue {body['disposition_cue']!r})" if body["disposition_cue"] else "")
    )
    if body["empty_reason"]:
        _plain(f"Nothing summarized: {body['empty_reason']}")
        return
    for key, title in (
        ("reason", "Reason for contact"),
        ("resolution", "Resolution"),
        ("actions", "Actions taken"),
    ):
        _plain(title)
        if not body[key]:
            _plain("  - nothing found in the conversation")
        for line in body[key]:
            _plain(f"  - {line['speaker']}: {line['text']}  [{_turns(line)}]")
    _plain("Follow-ups")
    if not body["follow_ups"]:
        _plain("  - none")
    for item in body["follow_ups"]:
        due = item["due"] or item["due_text"] or "no date said"
        _plain(f"  - {item['owner']}, due {due}: {item['text']}  [{item['source']}]")


def draft_command(
    ctx: typer.Context,
    interaction_id: Annotated[str, typer.Argument(help="The conversation.")],
    customer: Annotated[
        str | None,
        typer.Option(help="Customer id (default: the one the contact is linked to)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Draft the agent's next message, each sentence citing policy or the record."""
    draft = services_of(ctx).agent_summaries.draft(interaction_id, customer)
    if as_json:
        out.print_json(json.dumps(draft.to_dict(), default=str))
        return
    _plain(f"Draft for {interaction_id} ({draft.generator}):")
    _plain(draft.text or "(no draft: it failed the output check)")
    _plain("Sources:")
    for source in draft.sources:
        _plain(f"  [{source.number}] {source.kind}: {source.label}  ({source.ref})")
    for note in draft.notes:
        _plain(f"Note: {note}")
    if draft.fallback_reason:
        _plain(f"Generated draft withheld: {draft.fallback_reason}")
