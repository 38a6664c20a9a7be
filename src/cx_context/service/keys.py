"""API keys: random tokens, each bound to a role and optionally a tenant.

A key is shown once, when it is made. The store keeps only a keyed hash
(HMAC-SHA256) of its secret part: a key is 32 random bytes, so no guessing
attack can walk the hash back, and a slow password hash would only add
latency to every request.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

PREFIX = "cxk"
# Keeps hashes of this project apart from any other SHA-256 of the same bytes;
# a deployment adds its own secret with CX_API_KEY_PEPPER.
_DOMAIN = b"cx-context api key v1"


class Role(StrEnum):
    """Who a key speaks for; each route names the roles it serves."""

    AGENT = "agent"
    BOT = "bot"
    KNOWLEDGE_OWNER = "knowledge_owner"
    RISK = "risk"
    ADMIN = "admin"


# A tenant id names a folder, a PostgreSQL schema and a Chroma tenant, so it
# keeps to characters all three take, and short enough for a schema name.
TENANT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


class TenantIdError(ValueError):
    """A tenant id that cannot name a tenant's stores."""


def check_tenant(tenant: str) -> str:
    """The tenant id, or TenantIdError saying what a tenant id must look like."""
    if not isinstance(tenant, str) or not TENANT_ID.fullmatch(tenant):
        raise TenantIdError(
            "a tenant id is 1 to 48 characters of a-z, 0-9, '_' and '-', "
            f"starting with a letter or digit; got {tenant!r}"
        )
    if tenant == "default":
        # keys list shows keys without a tenant as "(default)"; a tenant of
        # that name would be a second, empty one.
        raise TenantIdError(
            "'default' is not a tenant id: the default tenant is the one with "
            "no id, so leave the tenant out"
        )
    return tenant


class KeysBase(DeclarativeBase):
    pass


class ApiKeyRow(KeysBase):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str | None] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKeyError(Exception):
    """A key operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key; the token itself only right after creation."""

    key_id: str
    role: Role
    tenant: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    token: str | None = None

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {
            "key_id": self.key_id,
            "role": self.role.value,
            "tenant": self.tenant,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }
        if self.token is not None:
            body["key"] = self.token
        return body


def _as_key(row: ApiKeyRow, token: str | None = None) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        role=Role(row.role),
        tenant=row.tenant,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        token=token,
    )


class ApiKeyStore:
    """Creates, lists, revokes and verifies API keys in the relational store."""

    def __init__(self, sessions: sessionmaker[Session], pepper: str = "") -> None:
        self._sessions = sessions
        self._key = _DOMAIN + pepper.encode("utf-8")

    def _hash(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode("ascii"), hashlib.sha256).hexdigest()

    def create(
        self, role: Role | str, tenant: str | None = None, label: str | None = None
    ) -> ApiKey:
        """A new key; its token (`cxk_<id>_<secret>`) is in the result only."""
        try:
            role = Role(role)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ApiKeyError(f"role must be one of {allowed}, got {role!r}") from None
        if tenant is not None:
            try:
                check_tenant(tenant)
            except TenantIdError as exc:
                raise ApiKeyError(str(exc)) from None
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        row = ApiKeyRow(
            key_id=key_id,
            secret_hash=self._hash(secret),
            role=role.value,
            tenant=tenant,
            label=label,
            created_at=datetime.now(UTC),
            revoked_at=None,
        )
        with self._sessions.begin() as session:
            session.add(row)
        return _as_key(row, f"{PREFIX}_{key_id}_{secret}")

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        with self._sessions() as session:
            query = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
            if not include_revoked:
                query = query.where(ApiKeyRow.revoked_at.is_(None))
            return [_as_key(row) for row in session.scalars(query)]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id; it stops working on its next request."""
        with self._sessions.begin() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise ApiKeyError(f"no API key with id {key_id!r}")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return _as_key(row)

    def verify(self, token: str) -> ApiKey | None:
        """The live key a token belongs to, or None (unknown, malformed, revoked)."""
        prefix, _, rest = token.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not key_id or not secret or len(token) > 200:
            return None
        try:
            digest = self._hash(secret)
        except UnicodeEncodeError:
            return None
        with self._sessions() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.secret_hash, digest):
                return None
            return _as_key(row)
