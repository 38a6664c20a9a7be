"""Summaries and wrap-ups kept with their interaction, by generator and prompt.

A stored body is used again only while the fingerprint it was made from still
holds: the interaction's content hash (which changes when the interaction is
ingested again with other turns or outcome), the generator and the prompt
version. Anything else is recomputed and replaces the stored row.
"""

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from cx_context.knowledge.catalog import StoredInteraction
from cx_context.knowledge.database import Base, utcnow

logger = logging.getLogger(__name__)


class SummaryRow(Base):
    """One output of one kind (summary, wrapup) for one interaction and version."""

    __tablename__ = "interaction_summaries"
    __table_args__ = (
        UniqueConstraint(
            "interaction_id",
            "kind",
            "generator",
            "prompt_version",
            name="uq_interaction_summaries_version",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interaction_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    generator: Mapped[str] = mapped_column(String(100))
    prompt_version: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


def fingerprint(interaction: StoredInteraction, generator: str, prompt: str) -> str:
    """What a stored output was made from: the interaction's content and versions."""
    basis = "\x1f".join(
        [
            interaction.content_hash,
            str(len(interaction.turns)),
            interaction.outcome or "",
            generator,
            prompt,
        ]
    )
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


class SummaryStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get_or_make(
        self,
        interaction: StoredInteraction,
        kind: str,
        generator: str,
        prompt: str,
        make: Callable[[], dict[str, Any]],
    ) -> tuple[dict[str, Any], bool]:
        """The stored body when its fingerprint holds, else a new one, stored.

        The second value says whether the body was made now.
        """
        wanted = fingerprint(interaction, generator, prompt)
        key = (
            SummaryRow.interaction_id == interaction.id,
            SummaryRow.kind == kind,
            SummaryRow.generator == generator,
            SummaryRow.prompt_version == prompt,
        )
        with self._sessions() as session:
            row = session.scalars(select(SummaryRow).where(*key)).first()
            if row is not None and row.fingerprint == wanted:
                return dict(row.body), False
        body = make()
        try:
            self._put(key, interaction.id, kind, generator, prompt, wanted, body)
        except IntegrityError:
            # Another worker stored the same version meanwhile; ours is as good.
            logger.info("summary of %s stored by another worker", interaction.id)
        return body, True

    def _put(
        self,
        key: tuple[Any, ...],
        interaction_id: str,
        kind: str,
        generator: str,
        prompt: str,
        wanted: str,
        body: dict[str, Any],
    ) -> None:
        with self._sessions.begin() as session:
            row = session.scalars(select(SummaryRow).where(*key)).first()
            if row is None:
                session.add(
                    SummaryRow(
                        interaction_id=interaction_id,
                        kind=kind,
                        generator=generator,
                        prompt_version=prompt,
                        fingerprint=wanted,
                        body=body,
                    )
                )
            else:
                row.fingerprint = wanted
                row.body = body
                row.created_at = utcnow()

    def versions(self, interaction_id: str) -> list[dict[str, Any]]:
        """Which outputs are stored for an interaction, newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(SummaryRow)
                .where(SummaryRow.interaction_id == interaction_id)
                .order_by(SummaryRow.created_at.desc())
            )
            return [
                {
                    "kind": row.kind,
                    "generator": row.generator,
                    "prompt_version": row.prompt_version,
                    "fingerprint": row.fingerprint,
                    "created_at": row.created_at.isoformat(),
                }
                for row in rows
            ]
