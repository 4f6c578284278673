"""Shared by the reports tests: one database per module and dialect (a PDF is slow: build once, read often)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url

from claimwatch import db
from tests.conftest import PG_URL_ENV


def module_database(dialect: str, tmp: Path, sqlite_template: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Yields the URL of a fresh migrated database (a copy of the session's template); exhaust it to drop it."""
    if dialect == "sqlite":
        path = tmp / "claimwatch.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    if not admin_url:
        pytest.skip(f"PostgreSQL half: set {PG_URL_ENV}")
    template = request.getfixturevalue("pg_template")
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    db.get_engine().dispose()
    with admin.connect() as conn:
        conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
