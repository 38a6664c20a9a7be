"""The unified customer record: SQL tables for identity, service state and decisions.

Parties, their accounts and identifiers, cases, appointments, complaints,
consents, risk flags, merges and received events. The tables share the
metadata of the knowledge store, so interactions can be linked to parties by
foreign key, and one Alembic history migrates them all.

Identifier values and personal attributes are never stored in the clear: each
is sealed (encrypted with the vault key) beside a keyed hash of its normalized
form for exact lookup (see `cx_context.guardrails.sealing`). Free text that a
source system sends (a case's next action, a risk note) is redacted first.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cx_context.knowledge.database import Base, utcnow

_ID = 200


class PartyRow(Base):
    """A person, household or business the organisation serves."""

    __tablename__ = "parties"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Sealed personal attributes, for the resolver and for authorized display.
    name_sealed: Mapped[str | None] = mapped_column(Text)
    postcode_sealed: Mapped[str | None] = mapped_column(Text)
    dob_sealed: Mapped[str | None] = mapped_column(Text)
    segment: Mapped[str | None] = mapped_column(String(100))
    source_system: Mapped[str] = mapped_column(String(_ID))
    merged_into: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("parties.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class AccountRow(Base):
    """An account or product holding of a party, in one source system."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    source_system: Mapped[str] = mapped_column(String(_ID))
    product: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdentifierRow(Base):
    """An identifier of a party as one source system knows it, sealed."""

    __tablename__ = "identifiers"
    __table_args__ = (
        UniqueConstraint("party_id", "kind", "blind_index", "source_system"),
        Index("ix_identifiers_lookup", "kind", "blind_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(30))
    blind_index: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[str] = mapped_column(Text)
    source_system: Mapped[str] = mapped_column(String(_ID))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InteractionLinkRow(Base):
    """Which party an interaction belongs to, how sure we are, and who decided."""

    __tablename__ = "interaction_parties"

    interaction_id: Mapped[str] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    )
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    linked_by: Mapped[str] = mapped_column(String(200))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseRow(Base):
    """A service case: an intent being worked on, with its state and next step."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    source_system: Mapped[str] = mapped_column(String(_ID))
    status: Mapped[str] = mapped_column(String(20), index=True)
    intent: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    next_action: Mapped[str | None] = mapped_column(Text)
    owning_channel: Mapped[str | None] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppointmentRow(Base):
    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    scheduled_for: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(Text)


class ComplaintRow(Base):
    __tablename__ = "complaints"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))


class ConsentRow(Base):
    """One consent decision; the latest per party and purpose is in force."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_party_purpose", "party_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"))
    purpose: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_system: Mapped[str] = mapped_column(String(_ID))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RiskFlagRow(Base):
    __tablename__ = "risk_flags"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(default=True)


class MergeRow(Base):
    """Two parties found to be one: what moved, who decided, and whether undone."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("parties.id"))
    merged_id: Mapped[str] = mapped_column(ForeignKey("parties.id"))
    confidence: Mapped[float] = mapped_column(Float)
    decided_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(200))


class EventRow(Base):
    """A received state-change event, applied once; rejected ones keep the reason."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    source: Mapped[str] = mapped_column(String(_ID))
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(_ID))
    event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    lag_seconds: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    party_id: Mapped[str | None] = mapped_column(String(_ID), index=True)
