"""Re-identification: a stored interaction as it was said, for those allowed to see it.

Only the `admin` and `risk` roles may ask, and each must say why; every
request that is granted is written to the risk log (who, why as a hash, which
interaction, how many values came back), never the values themselves.
"""

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from cx_context.context.errors import ContextError, NotFoundError
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.nist import RiskCategory
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Actor, Evidence, RiskEvent, text_hash
from cx_context.guardrails.vault import PseudonymVault, RestoreError
from cx_context.knowledge.catalog import Catalog

logger = logging.getLogger(__name__)

ALLOWED_ROLES = ("admin", "risk")
# NIST AI 600-1 MS-2.2-002, the privacy control whose reversal is recorded.
REIDENTIFY_ACTIONS = ("MS-2.2-002",)


class ReidentificationRefusedError(ContextError):
    """A re-identification asked by a role that may not, or without a reason."""


@dataclass(frozen=True)
class RestoredTurn:
    number: int
    speaker: str
    text: str


@dataclass(frozen=True)
class Restored:
    interaction_id: str
    turns: list[RestoredTurn]
    outcome: str | None
    values_restored: int
    risk_event_id: str

    def to_dict(self) -> dict[str, object]:
        return {
            "interaction_id": self.interaction_id,
            "turns": [
                {"number": t.number, "speaker": t.speaker, "text": t.text}
                for t in self.turns
            ],
            "outcome": self.outcome,
            "values_restored": self.values_restored,
            "risk_event_id": self.risk_event_id,
        }


class Reidentifier:
    """Restores redacted interactions from the vault, logging every grant."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        vault: PseudonymVault,
        risk_log: RiskLog,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._vault = vault
        self._risk_log = risk_log

    def restore(
        self,
        interaction_id: str,
        role: str,
        reason: str,
        request_id: str | None = None,
    ) -> Restored:
        if role not in ALLOWED_ROLES:
            raise ReidentificationRefusedError(
                f"re-identification needs the role {' or '.join(ALLOWED_ROLES)}; "
                f"got {role!r}"
            )
        if not reason.strip():
            raise ReidentificationRefusedError(
                "re-identification needs a stated reason; got an empty one"
            )
        stored = self._catalog.interaction(interaction_id)
        if stored is None:
            raise NotFoundError(f"no interaction with id {interaction_id!r}")
        texts = [turn.text for turn in stored.turns]
        if stored.outcome is not None:
            texts.append(stored.outcome)
        with self._sessions() as session:
            if stored.pii_counts and not self._vault.has_scope(session, interaction_id):
                raise RestoreError(
                    f"no pseudonym mappings were kept for {interaction_id}: it was "
                    "ingested without a vault key; ingest it again with one"
                )
            restored, values = self._vault.restore(session, interaction_id, texts)
        event = self._risk_log.append(
            RiskEvent(
                category=RiskCategory.DATA_PRIVACY,
                actions=REIDENTIFY_ACTIONS,
                detector="reidentification",
                decision=Decision.ALLOW,
                actor=Actor(role, "reidentification"),
                evidence=Evidence(
                    ids=(interaction_id,),
                    content_hashes=(text_hash(reason.strip()),),
                    counts={"values_restored": values},
                ),
                request_id=request_id,
            )
        )
        logger.info(
            "re-identified %s for role %s: %d values", interaction_id, role, values
        )
        turns = [
            RestoredTurn(turn.number, turn.speaker, text)
            for turn, text in zip(stored.turns, restored, strict=False)
        ]
        outcome = restored[-1] if stored.outcome is not None else None
        return Restored(interaction_id, turns, outcome, values, str(event["event_id"]))
