"""A throwaway database for a bench run: an SQLite file in a temporary folder (under BENCH_TMP when set, for a
disk with room for tens of millions of rows), or a new PostgreSQL database on the server at ``pg_url``, dropped
afterwards."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from claimwatch import db


@contextmanager
def database(dialect: str, pg_url: str, label: str) -> Iterator[str]:
    """Yields the URL of an empty database; ``label`` names it (``cw-bench-<label>-…``)."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"cw-bench-{label}-", dir=os.environ.get("BENCH_TMP")) as folder:
            try:
                yield f"sqlite:///{folder}/bench.db"
            finally:
                db.get_engine().dispose()
        return
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"cw_bench_{label}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        db.get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
