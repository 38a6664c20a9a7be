"""The customer store: bulk upsert, read, identifier lookup, merge and undo.

Each record is written in its own transaction: a bad record is reported with
its position and reason and leaves nothing behind; the good ones land.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cx_context.context.consent_records import ConsentRecords, survivor
from cx_context.context.errors import ConflictError, NotFoundError, RecordError
from cx_context.context.identity.errors import IdentityError
from cx_context.context.identity.model import Profile
from cx_context.context.identity.normalize import normalize_identifier, normalize_name
from cx_context.context.records import (
    AppointmentView,
    CaseIn,
    CaseView,
    ComplaintView,
    ConsentIn,
    ConsentView,
    CustomerIn,
    CustomerView,
    IdentifierIn,
    IdentifierView,
    PartyIdentifierKind,
    RiskFlagView,
)
from cx_context.context.store import (
    AccountRow,
    AppointmentRow,
    CaseRow,
    ComplaintRow,
    ConsentRow,
    IdentifierRow,
    InteractionLinkRow,
    MergeRow,
    PartyRow,
    RiskFlagRow,
)
from cx_context.guardrails import KnownValue
from cx_context.guardrails.sealing import Sealer
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.errors import describe_validation_error

logger = logging.getLogger(__name__)

Redact = Callable[[str, Sequence[KnownValue]], str]
"""Redacts free text, given the customer's own values that must go whatever."""

# The entity type under which each identifier kind is redacted from free text.
_ENTITY_OF_KIND = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "account_number": "ACCOUNT_ID",
    "username": "USERNAME",
    "crm_id": "ACCOUNT_ID",
    "external_id": "ACCOUNT_ID",
}


# The key of a merge's `moved` record that keeps, per survivor identifier row
# that a merged duplicate was folded into, its `seen_at` before the merge.
_SEEN_BEFORE_MERGE = "identifiers_seen_before"


def utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def mask(kind: str, value: str) -> str:
    """A form an agent can recognise without reading the value."""
    if kind == "email" and "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}***@{domain}"
    if kind == "phone":
        return f"***{value[-3:]}"
    if kind == "name":
        return " ".join(f"{word[:1]}." for word in value.split())
    return f"***{value[-2:]}" if len(value) > 4 else "***"


@dataclass
class UpsertReport:
    """What happened to each record of one bulk upsert."""

    stored: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": len(self.stored),
            "rejected": len(self.problems),
            "ids": self.stored,
            "problems": self.problems,
        }


class CustomerStore:
    """Reads and writes the unified customer record."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sealer: Sealer,
        redact: Redact,
        default_region: str = "AU",
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._redact = redact
        self._region = default_region
        self._consent = ConsentRecords(sessions)

    # Writing ---------------------------------------------------------------

    def upsert_many(self, items: Sequence[Any]) -> UpsertReport:
        """Store records or dicts; a problem's position counts from 0."""
        report = UpsertReport()
        for position, item in enumerate(items):
            try:
                record = (
                    item
                    if isinstance(item, CustomerIn)
                    else CustomerIn.model_validate(item)
                )
            except ValidationError as exc:
                report.problems.append(
                    {"position": position, "error": describe_validation_error(exc)}
                )
                continue
            self._upsert_reporting(record, report, {"position": position})
        return report

    def upsert_parsed(self, parsed: Sequence[Parsed[CustomerIn]]) -> UpsertReport:
        """Store what a reader parsed; each problem keeps its place in the input.

        A problem has the record's `position` and `unit` (record or line) as
        the reader gave them, its `id` when known and the `error`, in input
        order, whether the reader or the store refused it.
        """
        report = UpsertReport()
        for item in parsed:
            place = {"position": item.position, "unit": item.unit}
            if item.problem is not None:
                report.problems.append(
                    {
                        **place,
                        "id": item.problem.record_id,
                        "error": item.problem.message,
                    }
                )
            elif item.record is not None:
                self._upsert_reporting(
                    item.record, report, {**place, "id": item.record.id}
                )
        return report

    def _upsert_reporting(
        self, record: CustomerIn, report: UpsertReport, place: dict[str, Any]
    ) -> None:
        try:
            self.upsert(record)
        except (RecordError, ConflictError, IdentityError) as exc:
            report.problems.append({**place, "error": str(exc)})
        else:
            report.stored.append(record.id)

    def upsert(self, record: CustomerIn) -> None:
        """Store one customer; all of it or, on any error, none of it.

        When the record carries `identifiers`, they replace the ones stored
        for the party from the same source systems (the record's, and any an
        identifier names); identifiers from other systems, and those that
        came with a customer merged into this one, stay. A record without the
        field leaves the party's identifiers as they are.
        """
        sealed_ids = [
            (
                identifier,
                normalize_identifier(identifier.kind, identifier.value, self._region),
            )
            for identifier in record.identifiers
        ]
        own_values = [
            KnownValue(_ENTITY_OF_KIND[identifier.kind.value], identifier.value)
            for identifier in record.identifiers
        ]
        if record.name:
            own_values.append(KnownValue("PERSON", record.name))
        try:
            self._write_customer(record, sealed_ids, own_values)
        except IntegrityError:
            # Another writer added the same new customer (or one of its
            # identifiers or cases) between this one's read and its write;
            # that write has committed by now, so a second attempt finds the
            # rows and updates them.
            try:
                self._write_customer(record, sealed_ids, own_values)
            except IntegrityError as exc:
                raise RecordError(
                    f"customer {record.id}: conflicts with stored data "
                    f"({type(exc.orig).__name__})"
                ) from None
        logger.info(
            "stored customer %s with %d identifiers, %d cases",
            record.id,
            len(record.identifiers),
            len(record.cases),
        )

    def _write_customer(
        self,
        record: CustomerIn,
        sealed_ids: Sequence[tuple[IdentifierIn, str]],
        own_values: Sequence[KnownValue],
    ) -> None:
        with self._sessions.begin() as session:
            party = session.get(PartyRow, record.id)
            if party is not None and party.merged_into is not None:
                raise ConflictError(
                    f"customer {record.id} was merged into {party.merged_into}; "
                    "write to that customer, or undo the merge first"
                )
            party = party or PartyRow(id=record.id)
            party.kind = record.kind.value
            party.source_system = record.source_system
            party.segment = record.segment
            party.updated_at = datetime.now(UTC)
            if record.name:
                party.name_sealed = self._sealer.seal(record.name)
            if record.postcode:
                party.postcode_sealed = self._sealer.seal(record.postcode)
            if record.date_of_birth:
                party.dob_sealed = self._sealer.seal(record.date_of_birth.isoformat())
            session.add(party)
            session.flush()
            replaces = "identifiers" in record.model_fields_set
            self._write_identifiers(session, record, sealed_ids, replaces)
            self._write_state(session, record, own_values)

    def _write_identifiers(
        self,
        session: Session,
        record: CustomerIn,
        normalized: Sequence[tuple[IdentifierIn, str]],
        replaces: bool = False,
    ) -> None:
        """Add or refresh identifiers; `replaces` drops the sources' others."""
        stored = {
            (row.kind, row.blind_index, row.source_system): row
            for row in session.scalars(
                select(IdentifierRow).where(IdentifierRow.party_id == record.id)
            )
        }
        sent: set[int] = set()
        sources = {record.source_system}
        for identifier, value in normalized:
            index = self._sealer.blind_index(identifier.kind.value, value)
            source = identifier.source_system or record.source_system
            sources.add(source)
            seen = utc(identifier.seen_at or datetime.now(UTC))
            existing = stored.get((identifier.kind.value, index, source))
            if existing is not None:
                existing.seen_at = max(utc(existing.seen_at), seen)
                sent.add(id(existing))
                continue
            row = IdentifierRow(
                party_id=record.id,
                kind=identifier.kind.value,
                blind_index=index,
                sealed=self._sealer.seal(value),
                source_system=source,
                seen_at=seen,
            )
            session.add(row)
            stored[(row.kind, index, source)] = row
            sent.add(id(row))
        if not replaces:
            return
        merged_in = self._merged_in_identifiers(session, record.id)
        for row in stored.values():
            if (
                id(row) not in sent
                and row.source_system in sources
                and row.id not in merged_in
            ):
                session.delete(row)

    @staticmethod
    def _merged_in_identifiers(session: Session, party_id: str) -> set[int]:
        """Identifier rows that came with customers merged into this one.

        They are the merged customer's, and go back when its merge is undone,
        so a write to the survivor never drops them.
        """
        rows: set[int] = set()
        for moved in session.scalars(
            select(MergeRow.moved).where(
                MergeRow.survivor_id == party_id, MergeRow.undone_at.is_(None)
            )
        ):
            rows.update(moved.get(IdentifierRow.__tablename__, []))
        return rows

    def _write_state(
        self, session: Session, record: CustomerIn, own: Sequence[KnownValue]
    ) -> None:
        def clean(text: str | None) -> str | None:
            return self._redact(text, own) if text else text

        for account in record.accounts:
            session.merge(
                AccountRow(
                    id=account.id,
                    party_id=record.id,
                    source_system=record.source_system,
                    product=account.product,
                    status=account.status,
                    opened_at=account.opened_at,
                )
            )
        for case in record.cases:
            self._check_owner(session, CaseRow, case.id, record.id)
            session.merge(
                CaseRow(
                    id=case.id,
                    party_id=record.id,
                    source_system=record.source_system,
                    status=case.status.value,
                    intent=case.intent,
                    subject=clean(case.subject),
                    next_action=clean(case.next_action),
                    owning_channel=case.owning_channel,
                    opened_at=case.opened_at,
                    updated_at=case.updated_at or case.closed_at or case.opened_at,
                    closed_at=case.closed_at,
                )
            )
        for appointment in record.appointments:
            session.merge(
                AppointmentRow(
                    id=appointment.id,
                    party_id=record.id,
                    case_id=appointment.case_id,
                    scheduled_for=appointment.scheduled_for,
                    channel=appointment.channel,
                    status=appointment.status,
                    purpose=clean(appointment.purpose),
                )
            )
        for complaint in record.complaints:
            session.merge(
                ComplaintRow(
                    id=complaint.id,
                    party_id=record.id,
                    case_id=complaint.case_id,
                    received_at=complaint.received_at,
                    status=complaint.status,
                    category=complaint.category,
                    severity=complaint.severity.value,
                )
            )
        for consent in record.consents:
            self.record_consent(
                session,
                record.id,
                consent.purpose.value,
                consent.status.value,
                consent.decided_at,
                consent.source_system or record.source_system,
                consent.expires_at,
            )
        for flag in record.risk_flags:
            self._check_owner(session, RiskFlagRow, flag.id, record.id)
            session.merge(
                RiskFlagRow(
                    id=flag.id,
                    party_id=record.id,
                    kind=flag.kind,
                    severity=flag.severity.value,
                    note=clean(flag.note),
                    raised_at=flag.raised_at,
                    active=flag.active,
                )
            )

    def upsert_state(
        self,
        party_id: str,
        cases: Sequence[CaseIn] = (),
        consents: Sequence[ConsentIn] = (),
    ) -> None:
        """Add or change cases and consents of a stored party, in one transaction."""
        with self._sessions.begin() as session:
            party = self._live_party(session, party_id)
            record = CustomerIn(
                id=party.id,
                source_system=party.source_system,
                cases=list(cases),
                consents=list(consents),
            )
            self._write_state(session, record, self._own_values(session, party))

    def add_identifier(self, party_id: str, identifier: IdentifierIn) -> None:
        """Record an identifier seen for a party; one held by another is refused.

        An identifier of another customer is evidence that the two may be one,
        which is for identity resolution and a merge to decide, not an event.
        """
        value = normalize_identifier(identifier.kind, identifier.value, self._region)
        holders = set(self.find(identifier.kind, identifier.value))
        with self._sessions.begin() as session:
            party = self._live_party(session, party_id)
            others = sorted(holders - {party.id})
            if others:
                raise ConflictError(
                    f"this {identifier.kind.value} is held by customer "
                    f"{', '.join(others)}; merge them if they are one, or correct "
                    "the source"
                )
            record = CustomerIn(id=party.id, source_system=party.source_system)
            self._write_identifiers(session, record, [(identifier, value)])

    def _live_party(self, session: Session, party_id: str) -> PartyRow:
        party = session.get(PartyRow, self._survivor(session, party_id))
        if party is None:
            raise NotFoundError(f"no customer with id {party_id!r}")
        return party

    def _own_values(self, session: Session, party: PartyRow) -> list[KnownValue]:
        """The party's own values, which its free text must never show."""
        own = [
            KnownValue(_ENTITY_OF_KIND[row.kind], self._sealer.unseal(row.sealed))
            for row in session.scalars(
                select(IdentifierRow).where(IdentifierRow.party_id == party.id)
            )
        ]
        if party.name_sealed:
            own.append(KnownValue("PERSON", self._sealer.unseal(party.name_sealed)))
        return own

    @staticmethod
    def _check_owner(session: Session, table: Any, item_id: str, party: str) -> None:
        row = session.get(table, item_id)
        if row is not None and row.party_id != party:
            raise ConflictError(
                f"{table.__tablename__[:-1]} {item_id} belongs to customer "
                f"{row.party_id}, not {party}"
            )

    @staticmethod
    def record_consent(
        session: Session,
        party_id: str,
        purpose: str,
        status: str,
        decided_at: datetime,
        source_system: str,
        expires_at: datetime | None = None,
    ) -> bool:
        """Add a consent decision unless the same one is stored; True when added."""
        same = session.scalar(
            select(ConsentRow).where(
                ConsentRow.party_id == party_id,
                ConsentRow.purpose == purpose,
                ConsentRow.decided_at == decided_at,
                ConsentRow.status == status,
            )
        )
        if same is not None:
            return False
        session.add(
            ConsentRow(
                party_id=party_id,
                purpose=purpose,
                status=status,
                decided_at=decided_at,
                source_system=source_system,
                expires_at=expires_at,
            )
        )
        return True

    # Reading ---------------------------------------------------------------

    def exists(self, party_id: str) -> bool:
        with self._sessions() as session:
            return session.get(PartyRow, party_id) is not None

    def get(self, party_id: str) -> CustomerView:
        with self._sessions() as session:
            party = session.get(PartyRow, party_id)
            if party is None:
                raise NotFoundError(f"no customer with id {party_id!r}")
            if party.merged_into is not None:
                return self.get(party.merged_into)
            return self._view(session, party)

    def _view(self, session: Session, party: PartyRow) -> CustomerView:
        now = datetime.now(UTC)

        def rows(table: Any, order: Any) -> list[Any]:
            # Plain rows, not ORM objects: the view only reads them, and
            # building objects of nine tables took half of the record's time.
            columns = table.__table__
            return list(
                session.connection().execute(
                    select(columns)
                    .where(columns.c.party_id == party.id)
                    .order_by(order)
                )
            )

        identifiers = [
            IdentifierView(
                kind=row.kind,
                masked=mask(row.kind, self._sealer.unseal(row.sealed)),
                source_system=row.source_system,
                seen_at=utc(row.seen_at),
            )
            for row in rows(IdentifierRow, IdentifierRow.id)
        ]
        consents: dict[str, ConsentView] = {}
        for row in rows(ConsentRow, ConsentRow.decided_at):
            expires = utc(row.expires_at) if row.expires_at else None
            consents[row.purpose] = ConsentView(
                purpose=row.purpose,
                status=row.status,
                decided_at=utc(row.decided_at),
                source_system=row.source_system,
                expires_at=expires,
                in_force=row.status == "granted" and (expires is None or expires > now),
            )
        merged_from = list(
            session.scalars(select(PartyRow.id).where(PartyRow.merged_into == party.id))
        )
        return CustomerView(
            id=party.id,
            kind=party.kind,
            segment=party.segment,
            source_system=party.source_system,
            name_masked=(
                mask("name", self._sealer.unseal(party.name_sealed))
                if party.name_sealed
                else None
            ),
            identifiers=identifiers,
            accounts=[
                {"id": a.id, "product": a.product, "status": a.status}
                for a in rows(AccountRow, AccountRow.id)
            ],
            cases=[
                CaseView(
                    id=c.id,
                    status=c.status,
                    intent=c.intent,
                    subject=c.subject,
                    next_action=c.next_action,
                    owning_channel=c.owning_channel,
                    opened_at=utc(c.opened_at),
                    updated_at=utc(c.updated_at),
                    closed_at=utc(c.closed_at) if c.closed_at else None,
                    source_system=c.source_system,
                )
                for c in rows(CaseRow, CaseRow.opened_at)
            ],
            appointments=[
                AppointmentView(
                    id=a.id,
                    case_id=a.case_id,
                    scheduled_for=utc(a.scheduled_for),
                    channel=a.channel,
                    status=a.status,
                    purpose=a.purpose,
                )
                for a in rows(AppointmentRow, AppointmentRow.scheduled_for)
            ],
            complaints=[
                ComplaintView(
                    id=c.id,
                    case_id=c.case_id,
                    received_at=utc(c.received_at),
                    status=c.status,
                    category=c.category,
                    severity=c.severity,
                )
                for c in rows(ComplaintRow, ComplaintRow.received_at)
            ],
            consents=sorted(consents.values(), key=lambda c: c.purpose),
            risk_flags=[
                RiskFlagView(
                    id=f.id,
                    kind=f.kind,
                    severity=f.severity,
                    note=f.note,
                    raised_at=utc(f.raised_at),
                )
                for f in rows(RiskFlagRow, RiskFlagRow.raised_at)
                if f.active
            ],
            interaction_ids=[
                link.interaction_id
                for link in rows(InteractionLinkRow, InteractionLinkRow.linked_at)
            ],
            merged_from=merged_from,
        )

    def find(self, kind: PartyIdentifierKind | str, value: str) -> list[str]:
        """Parties holding an identifier (exact, normalized), merges followed."""
        kind = PartyIdentifierKind(kind)
        normalized = normalize_identifier(kind, value, self._region)
        index = self._sealer.blind_index(kind.value, normalized)
        with self._sessions() as session:
            parties = session.scalars(
                select(IdentifierRow.party_id)
                .where(IdentifierRow.kind == kind.value)
                .where(IdentifierRow.blind_index == index)
                .distinct()
            )
            return sorted({self._survivor(session, party) for party in parties})

    def customer_of(self, interaction_id: str) -> str | None:
        """The customer an interaction is linked to (after merges), or None."""
        return self._consent.customer_of(interaction_id)

    def interaction_allows_ai(self, interaction_id: str) -> bool:
        """Whether the customer behind an interaction lets AI assistance use it."""
        return self._consent.interaction_allows_ai(interaction_id)

    def interactions_allowing_ai(self, interaction_ids: Sequence[str]) -> set[str]:
        """Those of the interactions whose customer lets AI assistance use them."""
        return self._consent.interactions_allowing_ai(interaction_ids)

    @staticmethod
    def _survivor(session: Session, party_id: str) -> str:
        return survivor(session, party_id)

    def profiles_version(self) -> tuple[Any, ...]:
        """Changes whenever profiles() would: parties, identifiers or merges."""
        with self._sessions() as session:
            return (
                session.execute(
                    select(func.count(), func.max(PartyRow.updated_at))
                ).one(),
                session.execute(select(func.count(), func.max(IdentifierRow.id))).one(),
                session.execute(
                    select(func.count(), func.count(MergeRow.undone_at))
                ).one(),
            )

    def profiles(self) -> list[Profile]:
        """Unsealed identity attributes of every live party, for the resolver.

        Identifiers of merged-away parties count for the party they were
        merged into.
        """
        result: dict[str, Profile] = {}
        identifiers: dict[str, dict[str, list[str]]] = {}
        with self._sessions() as session:
            for party in session.scalars(
                select(PartyRow).where(PartyRow.merged_into.is_(None))
            ):
                name = (
                    self._sealer.unseal(party.name_sealed)
                    if party.name_sealed
                    else None
                )
                dob = (
                    self._sealer.unseal(party.dob_sealed) if party.dob_sealed else None
                )
                result[party.id] = Profile(
                    party_id=party.id,
                    name=normalize_name(name) if name else None,
                    postcode=(
                        self._sealer.unseal(party.postcode_sealed)
                        if party.postcode_sealed
                        else None
                    ),
                    dob=date.fromisoformat(dob) if dob else None,
                )
                identifiers[party.id] = {}
            for row in session.scalars(select(IdentifierRow)):
                owner = self._survivor(session, row.party_id)
                if owner in identifiers:
                    identifiers[owner].setdefault(row.kind, []).append(
                        self._sealer.unseal(row.sealed)
                    )
        return [
            replace(
                profile,
                identifiers={
                    kind: tuple(values) for kind, values in identifiers[pid].items()
                },
            )
            for pid, profile in result.items()
        ]

    # Links, merges ---------------------------------------------------------

    def link_by_identifiers(
        self, interaction_id: str, identifiers: Sequence[tuple[str, str]]
    ) -> str | None:
        """Link an interaction to the one party its strong identifiers name.

        Returns the party, or None when they name none or more than one (an
        ambiguous contact is left for identity resolution, never guessed).
        """
        kinds = {kind.value for kind in PartyIdentifierKind}
        parties: set[str] = set()
        used = []
        for kind, value in identifiers:
            if kind not in kinds:
                continue
            try:
                found = self.find(kind, value)
            except IdentityError:
                continue
            parties.update(found)
            if found:
                used.append(kind)
        if len(parties) != 1:
            return None
        party = parties.pop()
        self.link_interaction(
            interaction_id, party, 1.0, "identifier:" + ",".join(sorted(set(used)))
        )
        return party

    def link_interaction(
        self, interaction_id: str, party_id: str, confidence: float, linked_by: str
    ) -> None:
        with self._sessions.begin() as session:
            if session.get(PartyRow, party_id) is None:
                raise NotFoundError(f"no customer with id {party_id!r}")
            session.merge(
                InteractionLinkRow(
                    interaction_id=interaction_id,
                    party_id=self._survivor(session, party_id),
                    confidence=confidence,
                    linked_by=linked_by,
                    linked_at=datetime.now(UTC),
                )
            )

    # Rows that follow a party through a merge, with the column that names each.
    _MOVABLE: tuple[tuple[Any, str], ...] = (
        (IdentifierRow, "id"),
        (AccountRow, "id"),
        (CaseRow, "id"),
        (AppointmentRow, "id"),
        (ComplaintRow, "id"),
        (ConsentRow, "id"),
        (RiskFlagRow, "id"),
        (InteractionLinkRow, "interaction_id"),
    )

    def merge(
        self,
        survivor_id: str,
        merged_id: str,
        decided_by: str,
        confidence: float,
        reason: str | None = None,
    ) -> int:
        """Fold one party into another; returns the merge id, which `unmerge` takes."""
        if survivor_id == merged_id:
            raise ConflictError(f"cannot merge customer {survivor_id} into itself")
        with self._sessions.begin() as session:
            parties = {}
            for party_id in (survivor_id, merged_id):
                party = session.get(PartyRow, party_id)
                if party is None:
                    raise NotFoundError(f"no customer with id {party_id!r}")
                if party.merged_into is not None:
                    raise ConflictError(
                        f"customer {party_id} is already merged into "
                        f"{party.merged_into}"
                    )
                parties[party_id] = party
            moved: dict[str, Any] = {}
            for table, key in self._MOVABLE:
                rows = list(
                    session.scalars(select(table).where(table.party_id == merged_id))
                )
                if table is IdentifierRow:
                    rows = self._fold_identifiers(session, rows, survivor_id, moved)
                for row in rows:
                    row.party_id = survivor_id
                moved[table.__tablename__] = [getattr(row, key) for row in rows]
            parties[merged_id].merged_into = survivor_id
            merge = MergeRow(
                survivor_id=survivor_id,
                merged_id=merged_id,
                confidence=confidence,
                decided_by=decided_by,
                reason=reason,
                moved=moved,
            )
            session.add(merge)
            session.flush()
            logger.info("merged customer %s into %s", merged_id, survivor_id)
            return merge.id

    @staticmethod
    def _fold_identifiers(
        session: Session,
        rows: Sequence[IdentifierRow],
        survivor_id: str,
        moved: dict[str, Any],
    ) -> list[IdentifierRow]:
        """The merged party's identifier rows to move; the survivor's duplicates stay.

        An identifier both parties hold from the same source system is shown
        once: the merged party's row stays with it (lookups follow the merge
        to the survivor), and the survivor's row takes the later `seen_at`.
        `moved` keeps the survivor rows' earlier times, for undo.
        """
        held = {
            (row.kind, row.blind_index, row.source_system): row
            for row in session.scalars(
                select(IdentifierRow).where(IdentifierRow.party_id == survivor_id)
            )
        }
        to_move = []
        seen_before: dict[str, str] = {}
        for row in rows:
            twin = held.get((row.kind, row.blind_index, row.source_system))
            if twin is None:
                to_move.append(row)
                continue
            seen_before[str(twin.id)] = utc(twin.seen_at).isoformat()
            twin.seen_at = max(utc(twin.seen_at), utc(row.seen_at))
        moved[_SEEN_BEFORE_MERGE] = seen_before
        return to_move

    def unmerge(self, merge_id: int, undone_by: str) -> None:
        """Undo a merge: everything that moved goes back."""
        # Merge ids are 32-bit integers on every engine: a number outside that
        # range names no merge (and would overflow the query).
        if not 0 < merge_id < 2**31:
            raise NotFoundError(f"no merge with id {merge_id}")
        with self._sessions.begin() as session:
            merge = session.get(MergeRow, merge_id)
            if merge is None:
                raise NotFoundError(f"no merge with id {merge_id}")
            if merge.undone_at is not None:
                raise ConflictError(f"merge {merge_id} was already undone")
            merged = session.get(PartyRow, merge.merged_id)
            survivor = session.get(PartyRow, merge.survivor_id)
            if survivor is not None and survivor.merged_into is not None:
                raise ConflictError(
                    f"customer {merge.survivor_id} was merged again since; "
                    "undo that merge first"
                )
            for table, key in self._MOVABLE:
                keys = merge.moved.get(table.__tablename__, [])
                column = getattr(table, key)
                for row in session.scalars(select(table).where(column.in_(keys))):
                    row.party_id = merge.merged_id
            for row_id, seen_at in merge.moved.get(_SEEN_BEFORE_MERGE, {}).items():
                twin = session.get(IdentifierRow, int(row_id))
                if twin is not None:
                    twin.seen_at = datetime.fromisoformat(seen_at)
            assert merged is not None
            merged.merged_into = None
            merge.undone_at = datetime.now(UTC)
            merge.undone_by = undone_by

    def delete_all_links(self, interaction_id: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                delete(InteractionLinkRow).where(
                    InteractionLinkRow.interaction_id == interaction_id
                )
            )
