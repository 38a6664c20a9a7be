"""The pseudonym vault: what each placeholder replaced, sealed, for re-identification.

Redaction keeps, per text, where each placeholder sits and the exact value it
replaced. The vault stores that list for each part (turn) of a scope (an
interaction), encrypted with the vault key, so that a role allowed to may get
the original text back exactly; the values are never stored in the clear and
never logged. Restoring checks that each placeholder is still where it was,
so a stored text that changed since is refused, not half-restored.
"""

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, Text, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cx_context.guardrails.errors import GuardrailError, VaultKeyError
from cx_context.guardrails.pseudonyms import Replacement
from cx_context.guardrails.sealing import Sealer

logger = logging.getLogger(__name__)


class VaultBase(DeclarativeBase):
    """Metadata of the vault's table, migrated with the others."""


class PseudonymRow(VaultBase):
    """The sealed replacements of one part (a turn) of one scope."""

    __tablename__ = "pseudonym_vault"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KeyCheckRow(VaultBase):
    """A value sealed with the data directory's vault key, to recognise the key."""

    __tablename__ = "vault_key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


_KEY_CHECK = "cx-context vault key check"


def check_vault_key(session: Session, sealer: Sealer) -> None:
    """Refuse a key that is not the one this database's values were sealed with.

    The first key used is remembered (a sealed constant); every later one must
    open it. Without this, a wrong key would seal new values that the right
    key cannot open, and lookups across old and new records would break.
    """
    row = session.get(KeyCheckRow, 1)
    if row is None:
        session.add(
            KeyCheckRow(
                id=1, sealed=sealer.seal(_KEY_CHECK), stored_at=datetime.now(UTC)
            )
        )
        return
    try:
        opened = sealer.unseal(row.sealed)
    except VaultKeyError:
        opened = None
    if opened != _KEY_CHECK:
        raise VaultKeyError(
            "the vault key is not the one this database was sealed with; nothing "
            "was read or written (set CX_VAULT_KEY or CX_VAULT_KEY_FILE to that key)"
        )


class RestoreError(GuardrailError):
    """A text cannot be restored: no mapping was kept, or the text has changed."""


class PseudonymVault:
    """Seals placeholder mappings per scope and part, and restores texts."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def replace(
        self,
        session: Session,
        scope: str,
        parts: Sequence[tuple[int, Sequence[Replacement]]],
    ) -> None:
        """Keep the mappings of one scope, in the caller's transaction.

        Whatever was kept for the scope before is dropped first, so a changed
        interaction never keeps the mappings of its old version.
        """
        session.execute(delete(PseudonymRow).where(PseudonymRow.scope == scope))
        now = datetime.now(UTC)
        for part, replacements in parts:
            if not replacements:
                continue
            payload = json.dumps(
                [[r.start, r.end, r.placeholder, r.original] for r in replacements],
                ensure_ascii=False,
            )
            session.add(
                PseudonymRow(
                    scope=scope,
                    part=part,
                    sealed=self._sealer.seal(payload),
                    stored_at=now,
                )
            )

    def has_scope(self, session: Session, scope: str) -> bool:
        found = session.scalar(
            select(PseudonymRow.part).where(PseudonymRow.scope == scope).limit(1)
        )
        return found is not None

    def restore(
        self, session: Session, scope: str, texts: Sequence[str]
    ) -> tuple[list[str], int]:
        """The original of each redacted part, and how many values came back."""
        rows = {
            row.part: row
            for row in session.scalars(
                select(PseudonymRow).where(PseudonymRow.scope == scope)
            )
        }
        restored = []
        values = 0
        for part, text in enumerate(texts):
            row = rows.get(part)
            if row is None:
                restored.append(text)
                continue
            replacements = json.loads(self._sealer.unseal(row.sealed))
            original = text
            # From the end, so earlier offsets stay valid.
            for start, end, placeholder, value in reversed(replacements):
                if original[start:end] != placeholder:
                    raise RestoreError(
                        f"{scope} part {part}: the stored text changed since it "
                        f"was redacted (no {placeholder} at {start}); nothing was "
                        "restored"
                    )
                original = original[:start] + value + original[end:]
            restored.append(original)
            values += len(replacements)
        logger.info("restored %d values in %d parts of %s", values, len(texts), scope)
        return restored, values
