"""Brings the relational store to the newest schema with Alembic.

Every table of the project (knowledge store, customer record, risk log) is
created and changed only by the migrations in `service/migrations`, on SQLite
and PostgreSQL alike. On PostgreSQL each tenant has its own schema, which the
same migrations bring up to date on their own (see `use_schema`).
"""

import logging
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, event, inspect, text

import cx_context.context.store  # noqa: F401 (registers the customer-record tables)
from cx_context.guardrails.riskrecords import RiskBase
from cx_context.guardrails.vault import VaultBase
from cx_context.knowledge.database import Base
from cx_context.service.keys import KeysBase

logger = logging.getLogger(__name__)

# The schema that the first slice created without Alembic.
FIRST_REVISION = "0001"
# Any fixed number: the PostgreSQL advisory lock that serialises migrations.
_LOCK = 7_240_001


def target_metadata() -> list[MetaData]:
    return [Base.metadata, RiskBase.metadata, VaultBase.metadata, KeysBase.metadata]


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(files("cx_context.service") / "migrations")
    )
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _lock(connection: Connection) -> None:
    # Workers starting together change the schema one at a time; the lock
    # ends with the transaction.
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})


def _quoted(schema: str) -> str:
    if not schema or '"' in schema or "\x00" in schema:
        raise ValueError(f"not a usable schema name: {schema!r}")
    return f'"{schema}"'


def ensure_schema(engine: Engine, schema: str) -> None:
    """Create a PostgreSQL schema unless it exists (run on an engine without one)."""
    with engine.begin() as connection:
        _lock(connection)
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}"))


def use_schema(engine: Engine, schema: str) -> None:
    """Make every connection of a PostgreSQL engine use this schema alone.

    Set on connect, before anything else runs, so that tables, the Alembic
    version table and every query land in the schema without naming it; the
    schema must exist first (`ensure_schema`).
    """
    statement = f"SET SESSION search_path TO {_quoted(schema)}"

    @event.listens_for(engine, "connect", insert=True)
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        # In autocommit, so that no rolled-back transaction can undo the SET.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.autocommit = autocommit


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest revision; a no-op when it is current."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _lock(connection)
        config = _config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "knowledge_documents" in tables:
            # A data directory from before migrations: its tables are revision 0001.
            logger.info("stamping a pre-migration database at %s", FIRST_REVISION)
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
