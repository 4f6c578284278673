"""The Alembic migrations are the only way the schema changes, and they match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import claimwatch.models  # noqa: F401
from claimwatch import db, migrate
from claimwatch.db import Base


def test_models_and_migrations_agree(database):
    with db.get_engine().connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": migrate.include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(database):
    migrate.downgrade(database.url, "base")
    db.get_engine().dispose()
    assert set(inspect(db.get_engine()).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database.url)
    db.get_engine().dispose()
    assert {"claims", "case_events", "audit_entries", "tenants"} <= set(inspect(db.get_engine()).get_table_names())


def _overdue_index_definition() -> str:
    with db.get_engine().connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE name = 'ix_sla_clocks_tenant_state_breached'"
        else:
            sql = "SELECT pg_get_indexdef('ix_sla_clocks_tenant_state_breached'::regclass)"
        return str(conn.exec_driver_sql(sql).scalar_one()).lower()


def test_overdue_clock_index_holds_only_breached_clocks(database):
    # 0034: the never-breached majority has no entry, so the sweep turning a clock yellow adds one entry and
    # removes none (compare_metadata does not compare an index's WHERE, hence this test).
    assert "breached_at is not null" in _overdue_index_definition()
    migrate.downgrade(database.url, "0033_posted_notices")
    db.get_engine().dispose()
    assert "where" not in _overdue_index_definition()
    migrate.upgrade(database.url)
    db.get_engine().dispose()
    assert "breached_at is not null" in _overdue_index_definition()
