"""Who a conversation belongs to, and whether their consent lets AI use it.

These reads touch links, merges and consent decisions only, none of them
sealed, so they need no vault key: a summary can be refused for a customer
who withdrew AI-assistance consent on a deployment that never set one up.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.context.records import ALLOWED_WITHOUT_DECISION, Purpose
from cx_context.context.store import ConsentRow, InteractionLinkRow, PartyRow


def survivor(session: Session, party_id: str) -> str:
    """The party a merged party now lives in (itself when not merged)."""
    seen = {party_id}
    party = session.get(PartyRow, party_id)
    while party is not None and party.merged_into is not None:
        if party.merged_into in seen:
            break
        seen.add(party.merged_into)
        party = session.get(PartyRow, party.merged_into)
    return party.id if party is not None else party_id


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class ConsentRecords:
    """The customer behind each conversation and their AI-assistance consent."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def customer_of(self, interaction_id: str) -> str | None:
        """The customer an interaction is linked to (after merges), or None."""
        with self._sessions() as session:
            link = session.scalars(
                select(InteractionLinkRow).where(
                    InteractionLinkRow.interaction_id == interaction_id
                )
            ).first()
            return survivor(session, link.party_id) if link else None

    def interaction_allows_ai(self, interaction_id: str) -> bool:
        """Whether the customer behind an interaction lets AI assistance use it."""
        return interaction_id in self.interactions_allowing_ai([interaction_id])

    def interactions_allowing_ai(self, interaction_ids: Sequence[str]) -> set[str]:
        """Those of the interactions whose customer lets AI assistance use them.

        An interaction linked to nobody, or whose customer decided nothing,
        follows the default for AI assistance; otherwise the latest decision
        in force decides. Two queries, whatever the number of interactions.
        """
        ids = set(interaction_ids)
        if not ids:
            return set()
        default = Purpose.AI_ASSISTANCE in ALLOWED_WITHOUT_DECISION
        now = datetime.now(UTC)
        with self._sessions() as session:
            owner = {
                link.interaction_id: survivor(session, link.party_id)
                for link in session.scalars(
                    select(InteractionLinkRow).where(
                        InteractionLinkRow.interaction_id.in_(ids)
                    )
                )
            }
            latest: dict[str, ConsentRow] = {}
            for row in session.scalars(
                select(ConsentRow)
                .where(ConsentRow.party_id.in_(set(owner.values())))
                .where(ConsentRow.purpose == Purpose.AI_ASSISTANCE.value)
                .order_by(ConsentRow.decided_at)
            ):
                latest[row.party_id] = row
        allowed = set()
        for interaction_id in ids:
            decision = latest.get(owner.get(interaction_id, ""))
            if decision is None:
                ok = default
            else:
                expires = decision.expires_at
                ok = decision.status == "granted" and (
                    expires is None or _utc(expires) > now
                )
            if ok:
                allowed.add(interaction_id)
        return allowed
