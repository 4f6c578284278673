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
