"""Handoffs, and whether the customer had to start again after one.

A handoff is found four ways: inside a contact, a bot turn followed by an
agent turn (`bot_to_agent`) or a handler's turn that says it passes the
customer on (`announced_transfer`); across contacts, a contact that names the
one it was transferred from (`linked_transfer`), or the customer's next
contact on another channel within 24 hours of the last (`channel_switch`).

After a handoff it failed the customer when:
- identification was repeated: identity had been given or asked before the
  handoff, and after it a handler asks for it again or the customer gives an
  identifier again (a redaction placeholder such as <EMAIL_ADDRESS_1>);
- the story was repeated: a customer turn after it says again what one before
  it said (rapidfuzz token-set similarity of at least 80 between turns of at
  least four words, placeholders left out);
- it dropped: an announced transfer after which no handler speaks in that
  contact and no later contact continues it, or a contact that ends
  `abandoned`, `dropped` or `disconnected` after a handoff.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from rapidfuzz import fuzz

from cx_context.context.scorecard.data import Contact, ContactTurn
from cx_context.context.timeline import ANNOUNCED_TRANSFER, CHANNEL_SWITCH_WINDOW

HANDLERS = frozenset({"agent", "bot", "system"})
DROPPED_OUTCOMES = frozenset({"abandoned", "dropped", "disconnected"})

_ASKS_IDENTITY = re.compile(
    r"\b(?:verify|confirm|check)\b[^.?!]{0,30}\b(?:identity|who you are)\b"
    r"|\b(?:what(?:'s| is)|can i (?:have|get)|could (?:i|you)[^.?!]{0,15}"
    r"|may i (?:have|get)|please (?:give|provide|confirm|tell|spell|state)"
    r"|(?:i|we) (?:will )?need)\b[^.?!]{0,40}"
    r"\b(?:full name|your name|account (?:number|id)|email(?: address)?"
    r"|phone number|username|date of birth|birthday|post ?code|zip(?: code)?|pin)\b",
    re.IGNORECASE,
)
_IDENTITY_PLACEHOLDER = re.compile(
    r"<(?:PERSON|EMAIL_ADDRESS|PHONE_NUMBER|ACCOUNT_ID|USERNAME|POSTCODE"
    r"|DATE_OF_BIRTH|STREET_ADDRESS)_\d+>"
)
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")
_WORD = re.compile(r"[a-z0-9']+")
STORY_SIMILARITY = 80.0
STORY_MIN_WORDS = 4


@dataclass(frozen=True)
class HandoffCheck:
    """One handoff and what followed it."""

    kind: str
    from_contact: str
    to_contact: str
    repeated_identification: bool
    repeated_story: bool
    dropped: bool

    @property
    def failed(self) -> bool:
        return self.repeated_identification or self.repeated_story or self.dropped


def _identity_step(turns: Iterable[ContactTurn]) -> bool:
    for turn in turns:
        if turn.speaker in HANDLERS and _ASKS_IDENTITY.search(turn.text):
            return True
        if turn.speaker == "customer" and _IDENTITY_PLACEHOLDER.search(turn.text):
            return True
    return False


def _words(text: str) -> str:
    return " ".join(_WORD.findall(_PLACEHOLDER.sub(" ", text).lower()))


def _story_repeated(
    before: Sequence[ContactTurn], after: Sequence[ContactTurn]
) -> bool:
    said = [
        words
        for turn in before
        if turn.speaker == "customer"
        and len((words := _words(turn.text)).split()) >= STORY_MIN_WORDS
    ]
    for turn in after:
        if turn.speaker != "customer":
            continue
        again = _words(turn.text)
        if len(again.split()) < STORY_MIN_WORDS:
            continue
        if any(
            fuzz.token_set_ratio(again, earlier) >= STORY_SIMILARITY for earlier in said
        ):
            return True
    return False


def _check(
    kind: str,
    source: Contact,
    target: Contact,
    before: Sequence[ContactTurn],
    after: Sequence[ContactTurn],
    dropped: bool,
) -> HandoffCheck:
    ended_dropped = (target.outcome or "").strip().lower() in DROPPED_OUTCOMES
    return HandoffCheck(
        kind=kind,
        from_contact=source.id,
        to_contact=target.id,
        repeated_identification=_identity_step(before) and _identity_step(after),
        repeated_story=_story_repeated(before, after),
        dropped=dropped or ended_dropped,
    )


def _inside(contact: Contact, continued: bool) -> list[HandoffCheck]:
    """Handoffs within one contact; `continued` when a later contact follows it."""
    found: list[HandoffCheck] = []
    turns = contact.turns
    previous_handler: str | None = None
    skip_until = -1
    for index, turn in enumerate(turns):
        if index <= skip_until:
            if turn.speaker in {"bot", "agent"}:
                previous_handler = turn.speaker
            continue
        if previous_handler == "bot" and turn.speaker == "agent":
            found.append(
                _check(
                    "bot_to_agent",
                    contact,
                    contact,
                    turns[:index],
                    turns[index:],
                    False,
                )
            )
        elif turn.speaker in HANDLERS and ANNOUNCED_TRANSFER.search(turn.text):
            rest = turns[index + 1 :]
            lands = [i for i, t in enumerate(rest) if t.speaker in {"agent", "bot"}]
            if not lands and continued:
                # It continues in a later contact: that pair is the handoff.
                if turn.speaker in {"bot", "agent"}:
                    previous_handler = turn.speaker
                continue
            if lands and previous_handler == "bot" and turn.speaker == "bot":
                # "Transferring you now", then an agent: one handoff, not two.
                first = index + 1 + lands[0]
                if turns[first].speaker == "agent":
                    skip_until = first
            found.append(
                _check(
                    "bot_to_agent" if skip_until > index else "announced_transfer",
                    contact,
                    contact,
                    turns[: index + 1],
                    rest,
                    dropped=not lands and not continued,
                )
            )
        if turn.speaker in {"bot", "agent"}:
            previous_handler = turn.speaker
    return found


def check_handoffs(
    contacts: Sequence[Contact], switch_window: timedelta = CHANNEL_SWITCH_WINDOW
) -> list[HandoffCheck]:
    """Every handoff among one customer's contacts (or one unlinked contact)."""
    by_id = {contact.id: contact for contact in contacts}
    ordered = sorted(
        (c for c in contacts if c.started_at is not None),
        key=lambda c: (c.started_at, c.id),
    )
    undated = [c for c in contacts if c.started_at is None]
    followers: dict[str, Contact] = {}
    pairs: list[tuple[str, Contact, Contact]] = []
    for contact in contacts:
        source = by_id.get(contact.transferred_from or "")
        if source is not None and source.id != contact.id:
            followers[source.id] = contact
            pairs.append(("linked_transfer", source, contact))
    for before, after in pairwise(ordered):
        if before.id in followers or after.transferred_from:
            continue
        end = before.ends
        assert after.started_at is not None and end is not None
        if before.channel != after.channel and (
            timedelta(0) <= after.started_at - end <= switch_window
        ):
            followers[before.id] = after
            pairs.append(("channel_switch", before, after))
    checks: list[HandoffCheck] = []
    for contact in [*ordered, *undated]:
        checks.extend(_inside(contact, contact.id in followers))
    for kind, source, target in pairs:
        checks.append(_check(kind, source, target, source.turns, target.turns, False))
    return checks
