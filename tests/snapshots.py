"""Database snapshots for fixtures that build the same world for every test of a module.

A fixture that makes tenants, users, claims and complaints through the real services (the API, the service
functions) costs 0.3-2.5 s, and a module runs it for each of its tests on both databases. ``db_snapshot(key, build)``
runs ``build`` once per database kind and xdist worker, keeps a copy of the database it produced (an SQLite file; a
PostgreSQL database used as a template), and for every later test copies that database in place of the test's
fresh one and returns a deep copy of what ``build`` returned. Each test still gets its own database: what one test
writes is gone for the next.

Only for builders whose whole effect is in the database and whose result is plain data (names, ids, API keys): not
for one that writes files, starts threads or returns a client.
"""

from __future__ import annotations

import copy
import functools
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from claimwatch import db

T = TypeVar("T")


@dataclass
class Database:
    url: str
    dialect: str
    path: Path | None = None  # the SQLite file
    name: str | None = None  # the PostgreSQL database
    admin_url: str | None = None
    # A PostgreSQL database not created yet: a test that takes a snapshot gets its database copied from the
    # snapshot, not first from the empty template and then again.
    pending_template: str | None = None

    def create_pending(self, template: str | None = None) -> None:
        if self.pending_template is None:
            return
        assert self.admin_url is not None and self.name is not None
        admin = pg_admin_engine(self.admin_url)
        with admin.connect() as conn:
            conn.execute(
                text(
                    f'CREATE DATABASE "{self.name}" TEMPLATE "{template or self.pending_template}"{copy_strategy(conn)}'
                )
            )
        self.pending_template = None


@functools.cache
def pg_admin_engine(admin_url: str) -> Engine:
    """One pooled AUTOCOMMIT engine per worker on the server's maintenance database: creating and dropping a
    database per test then costs no new connection."""
    return create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")


def copy_strategy(conn: Any) -> str:
    version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    # FILE_COPY (PostgreSQL 15+) copies the small template's files instead of WAL-logging every block.
    return " STRATEGY FILE_COPY" if version >= 150000 else ""


def _disconnect_others(conn: Any, name: str) -> None:
    conn.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
        ),
        {"name": name},
    )


@dataclass
class SnapshotStore:
    """One per worker session: the saved databases, by (dialect, key), and what their builders returned."""

    directory: Path
    saved: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    pg_databases: list[tuple[str, str]] = field(default_factory=list)  # (admin url, database name)

    def drop_all(self) -> None:
        for admin_url, name in self.pg_databases:
            admin = pg_admin_engine(admin_url)
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.pg_databases.clear()

    def take(self, database: Database, key: str, build: Callable[[], T]) -> T:
        found = self.saved.get((database.dialect, key))
        if found is not None:
            reference, value = found
            _restore(database, reference)
            return copy.deepcopy(value)  # type: ignore[no-any-return]
        database.create_pending()
        value = build()
        reference = self._save(database, key)
        self.saved[(database.dialect, key)] = (reference, copy.deepcopy(value))
        return value

    def _save(self, database: Database, key: str) -> str:
        db.get_engine().dispose()
        if database.dialect == "sqlite":
            assert database.path is not None
            target = self.directory / f"{uuid.uuid4().hex}.db"
            for suffix in ("", "-wal"):
                source = Path(f"{database.path}{suffix}")
                if source.exists():
                    shutil.copyfile(source, Path(f"{target}{suffix}"))
            return str(target)
        assert database.admin_url is not None and database.name is not None
        name = f"cw_snap_{uuid.uuid4().hex[:12]}"
        admin = pg_admin_engine(database.admin_url)
        with admin.connect() as conn:
            _disconnect_others(conn, database.name)
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{database.name}"{copy_strategy(conn)}'))
        self.pg_databases.append((database.admin_url, name))
        return name


def _restore(database: Database, reference: str) -> None:
    db.get_engine().dispose()
    if database.dialect == "sqlite":
        assert database.path is not None
        for suffix in ("-wal", "-shm"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            source = Path(f"{reference}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{database.path}{suffix}"))
        return
    if database.pending_template is not None:
        database.create_pending(reference)
        return
    assert database.admin_url is not None and database.name is not None
    admin = pg_admin_engine(database.admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database.name}" TEMPLATE "{reference}"{copy_strategy(conn)}'))


class Snapshot:
    """``db_snapshot("web.seeded", lambda: build(world))``: the fixture's world, built once per worker."""

    def __init__(self, store: SnapshotStore, database: Database) -> None:
        self.store = store
        self.database = database

    def __call__(self, key: str, build: Callable[[], T]) -> T:
        return self.store.take(self.database, key, build)


def store_for(directory: Path) -> Iterator[SnapshotStore]:
    store = SnapshotStore(directory)
    try:
        yield store
    finally:
        store.drop_all()
