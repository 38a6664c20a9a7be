"""Canonical records: every source system's data is turned into these."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RecordId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^\S+$"
    ),
]


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    BOT = "bot"
    SOCIAL = "social"
    WEB_FORM = "web_form"


class Speaker(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_NUMBER = "account_number"
    USERNAME = "username"
    CRM_ID = "crm_id"
    EXTERNAL_ID = "external_id"
    ORDER_ID = "order_id"
    NAME = "name"
    STREET_ADDRESS = "street_address"
    POSTCODE = "postcode"
    DATE_OF_BIRTH = "date_of_birth"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CustomerIdentifier(_Record):
    """An identifier of the customer as one source system knows them."""

    kind: IdentifierKind
    value: NonEmptyText


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Nothing a source system reports can have happened later than now; its clock
# may run a little ahead of ours, so this much later is still taken as now.
CLOCK_SKEW = timedelta(minutes=5)


def check_not_future(value: datetime | None, name: str) -> None:
    """Refuse a time later than now (and the clock skew), naming the field."""
    if value is not None and _aware(value) > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError(f"{name} is in the future: {value.isoformat()}")


class Turn(_Record):
    speaker: Speaker
    text: NonEmptyText
    timestamp: datetime | None = None

    @field_validator("timestamp")
    @classmethod
    def _said_in_the_past(cls, value: datetime | None) -> datetime | None:
        check_not_future(value, "timestamp")
        return value


class Interaction(_Record):
    """One call, chat, email thread, message exchange, web form or bot conversation."""

    id: RecordId
    channel: Channel
    source_system: NonEmptyText
    started_at: datetime | None = None
    ended_at: datetime | None = None
    customer_identifiers: list[CustomerIdentifier] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    outcome: str | None = None
    intent: str | None = None
    # Customer satisfaction, where a survey or a sentiment model gave one.
    satisfaction_score: float | None = Field(default=None, ge=1, le=5)
    sentiment: Sentiment | None = None
    # The contact this one continues after a transfer (chat to voice, say).
    transferred_from: RecordId | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> "Interaction":
        check_not_future(self.started_at, "started_at")
        check_not_future(self.ended_at, "ended_at")
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValueError(
                f"ended_at ({self.ended_at.isoformat()}) is before "
                f"started_at ({self.started_at.isoformat()})"
            )
        return self


class Section(_Record):
    heading: NonEmptyText
    text: NonEmptyText


class KnowledgeDocument(_Record):
    """A policy, procedure or FAQ article, with its sections kept apart."""

    id: RecordId
    title: NonEmptyText
    summary: str | None = None
    body: list[Section] = Field(min_length=1)
    source: NonEmptyText
    owner: str | None = None
    version: str | None = None
    reviewed_at: datetime | None = None
    audience: str = "all"
    tags: list[str] = Field(default_factory=list)

    @field_validator("reviewed_at")
    @classmethod
    def _reviewed_in_the_past(cls, value: datetime | None) -> datetime | None:
        check_not_future(value, "reviewed_at")
        return value
