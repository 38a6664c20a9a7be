"""Brings the relational store to the newest schema with Alembic.

Every table of the project (knowledge store, customer record, risk log) is
created and changed only by the migrations in `service/migrations`, on SQLite
and PostgreSQL alike.
"""

import logging
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, inspect, text

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


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest revision; a no-op when it is current."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Workers starting together upgrade one at a time; the lock ends
            # with this transaction.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK}
            )
        config = _config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "knowledge_documents" in tables:
            # A data directory from before migrations: its tables are revision 0001.
            logger.info("stamping a pre-migration database at %s", FIRST_REVISION)
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
