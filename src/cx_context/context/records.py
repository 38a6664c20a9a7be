"""What a source system sends about a customer, and what the store gives back."""

from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cx_context.knowledge.records import (
    Channel,
    NonEmptyText,
    RecordId,
    check_not_future,
)


class PartyKind(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    BUSINESS = "business"


class PartyIdentifierKind(StrEnum):
    """Identifiers that name a party in a source system (and may link contacts)."""

    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_NUMBER = "account_number"
    USERNAME = "username"
    CRM_ID = "crm_id"
    EXTERNAL_ID = "external_id"


class CaseStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in {CaseStatus.OPEN, CaseStatus.PENDING}


class Purpose(StrEnum):
    """What data is used for; consent is given or withdrawn per purpose."""

    SERVICE = "service"
    ANALYTICS = "analytics"
    MARKETING = "marketing"
    AI_ASSISTANCE = "ai_assistance"


# Purposes allowed while a customer has recorded no decision: service is the
# contract itself, and AI assistance to agents serves it; analytics and
# marketing need a grant.
ALLOWED_WITHOUT_DECISION = frozenset({Purpose.SERVICE, Purpose.AI_ASSISTANCE})


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def _not_future(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    check_not_future(value, name)
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class IdentifierIn(_In):
    kind: PartyIdentifierKind
    value: NonEmptyText = Field(max_length=320)
    source_system: str | None = None
    seen_at: datetime | None = None

    @field_validator("seen_at")
    @classmethod
    def _seen_not_future(cls, value: datetime | None) -> datetime | None:
        return _not_future(value, "seen_at")


class AccountIn(_In):
    id: RecordId
    product: str | None = None
    status: str = "active"
    opened_at: datetime | None = None


class CaseIn(_In):
    id: RecordId
    status: CaseStatus
    intent: str | None = None
    subject: str | None = Field(default=None, max_length=2_000)
    next_action: str | None = Field(default=None, max_length=2_000)
    owning_channel: Channel | None = None
    opened_at: datetime
    updated_at: datetime | None = None
    closed_at: datetime | None = None

    @model_validator(mode="after")
    def _times_in_order(self) -> "CaseIn":
        _not_future(self.opened_at, "opened_at")
        if self.closed_at is not None and self.closed_at < self.opened_at:
            raise ValueError("closed_at is before opened_at")
        if self.updated_at is not None and self.updated_at < self.opened_at:
            raise ValueError("updated_at is before opened_at")
        return self


class AppointmentIn(_In):
    id: RecordId
    case_id: str | None = None
    scheduled_for: datetime
    channel: Channel | None = None
    status: str = "booked"
    purpose: str | None = Field(default=None, max_length=2_000)


class ComplaintIn(_In):
    id: RecordId
    case_id: str | None = None
    received_at: datetime
    status: str = "open"
    category: str | None = None
    severity: Severity = Severity.MEDIUM


class ConsentIn(_In):
    purpose: Purpose
    status: ConsentStatus
    decided_at: datetime
    source_system: str | None = None
    expires_at: datetime | None = None

    @field_validator("decided_at")
    @classmethod
    def _decided_not_future(cls, value: datetime) -> datetime:
        result = _not_future(value, "decided_at")
        assert result is not None
        return result


class RiskFlagIn(_In):
    id: RecordId
    kind: NonEmptyText
    severity: Severity
    note: str | None = Field(default=None, max_length=2_000)
    raised_at: datetime
    active: bool = True


class CustomerIn(_In):
    """One party as a source system knows it, with its service and decision data."""

    id: RecordId
    kind: PartyKind = PartyKind.PERSON
    source_system: NonEmptyText
    name: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=20)
    date_of_birth: date | None = None
    segment: str | None = None
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=200)
    accounts: list[AccountIn] = Field(default_factory=list, max_length=200)
    cases: list[CaseIn] = Field(default_factory=list, max_length=500)
    appointments: list[AppointmentIn] = Field(default_factory=list, max_length=500)
    complaints: list[ComplaintIn] = Field(default_factory=list, max_length=500)
    consents: list[ConsentIn] = Field(default_factory=list, max_length=500)
    risk_flags: list[RiskFlagIn] = Field(default_factory=list, max_length=200)

    @field_validator("date_of_birth")
    @classmethod
    def _born_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and value > datetime.now(UTC).date():
            raise ValueError(f"date_of_birth is in the future: {value.isoformat()}")
        return value


# What the store gives back. Identifier values are masked; nothing here is raw.


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class IdentifierView(_Out):
    kind: str
    masked: str
    source_system: str
    seen_at: datetime


class CaseView(_Out):
    id: str
    status: str
    intent: str | None
    subject: str | None
    next_action: str | None
    owning_channel: str | None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    source_system: str


class ConsentView(_Out):
    purpose: str
    status: str
    decided_at: datetime
    source_system: str
    expires_at: datetime | None
    in_force: bool


class RiskFlagView(_Out):
    id: str
    kind: str
    severity: str
    note: str | None
    raised_at: datetime


class AppointmentView(_Out):
    id: str
    case_id: str | None
    scheduled_for: datetime
    channel: str | None
    status: str
    purpose: str | None


class ComplaintView(_Out):
    id: str
    case_id: str | None
    received_at: datetime
    status: str
    category: str | None
    severity: str


class CustomerView(_Out):
    id: str
    kind: str
    segment: str | None
    source_system: str
    name_masked: str | None
    identifiers: list[IdentifierView]
    accounts: list[dict[str, str | None]]
    cases: list[CaseView]
    appointments: list[AppointmentView]
    complaints: list[ComplaintView]
    consents: list[ConsentView]
    risk_flags: list[RiskFlagView]
    interaction_ids: list[str]
    merged_from: list[str]

    @property
    def open_cases(self) -> list[CaseView]:
        return [case for case in self.cases if CaseStatus(case.status).is_open]

    def allows(self, purpose: Purpose) -> bool:
        """Whether consent for a purpose is in force (service needs none withdrawn)."""
        for consent in self.consents:
            if consent.purpose == purpose.value:
                return consent.in_force
        return purpose in ALLOWED_WITHOUT_DECISION
