"""Runs Alembic programmatically, so `claimwatch db upgrade` works wherever the package is installed."""

from __future__ import annotations

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


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: the objects of :data:`OUTSIDE_THE_MODELS` are not differences between models and schema."""
    return not (reflected and compare_to is None and name is not None and name.startswith(OUTSIDE_THE_MODELS))


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
