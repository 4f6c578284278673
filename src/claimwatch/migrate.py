"""Runs Alembic programmatically, so `claimwatch db upgrade` works wherever the package is installed."""

from __future__ import annotations

import re

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from claimwatch.config import PACKAGE_DIR, get_settings

# PostgreSQL's SQLSTATE for "relation ... does not exist".
UNDEFINED_TABLE = "42P01"
# Made by the migrations in raw SQL because the models cannot declare them for both databases: the knowledge base's
# SQLite FTS5 table (with the shadow tables SQLite keeps for it), and on PostgreSQL its stored tsvector column and
# the full-text index over it.
OUTSIDE_THE_MODELS = ("kb_search", "ix_kb_articles_search", "search_vector")


# PostgreSQL only (0031_pg_partitions): the monthly partitions of the partitioned tables (``<table>_pYYYYMM``,
# ``<table>_pdefault``) are tables of their own in the catalog, and the unique constraints of those tables that do
# not contain the partition key exist as a unique index on each partition instead of on the table.
PARTITION_NAME = re.compile(r"^(case_events|audit_entries|sla_clock_events|outbox_messages)_p(\d{6}|default)$")
PER_PARTITION_UNIQUES = frozenset(
    {
        "uq_case_events_tenant_id_client_event_id",
        "uq_case_events_tenant_id_audit_seq",
        "uq_audit_entries_tenant_id_seq",
        "uq_outbox_messages_tenant_id_idempotency_key",
    }
)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: the objects of :data:`OUTSIDE_THE_MODELS`, the partitions and the per-partition uniques are
    not differences between models and schema."""
    if name is None or compare_to is not None:
        return True
    if reflected and (name.startswith(OUTSIDE_THE_MODELS) or (type_ == "table" and PARTITION_NAME.match(name))):
        return False
    return not (type_ == "unique_constraint" and not reflected and name in PER_PARTITION_UNIQUES)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def is_missing_table(exc: DBAPIError) -> bool:
    """A statement failed because a table is not there (SQLite or PostgreSQL)."""
    original = exc.orig
    return getattr(original, "sqlstate", None) == UNDEFINED_TABLE or str(original).startswith("no such table")


def schema_advice(engine: Engine) -> str:
    """One line telling the operator why a table is missing: no schema at all, or an older one."""
    address = engine.url.render_as_string(hide_password=True)
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        return f"the database at {address} has no schema: run `claimwatch db upgrade` first"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return f"the database at {address} is at schema {revision}, not {head}: run `claimwatch db upgrade` first"
