"""Database snapshots for fixtures that build the same world for every test of a module, and the PostgreSQL
scratch database that every PostgreSQL test of a worker reuses.

A fixture that makes tenants, users, claims and complaints through the real services (the API, the service
functions) costs 0.3-2.5 s, and a module runs it for each of its tests on both databases. ``db_snapshot(key, build)``
runs ``build`` once per database kind and xdist worker, keeps a copy of the database it produced (an SQLite file; a
PostgreSQL database used as a template), and for every later test copies that database in place of the test's
fresh one and returns a deep copy of what ``build`` returned. Each test still gets its own database: what one test
writes is gone for the next.

Only for builders whose whole effect is in the database and whose result is plain data (names, ids, API keys): not
for one that writes files, starts threads or returns a client.

On PostgreSQL a test does not get a new database (CREATE DATABASE copies the 13 MB template and forces a
checkpoint: 0.05-0.3 s a test, and a new database starts with cold catalog caches). Each worker has one scratch
database (:class:`PgScratch`); before a test it is put back into a saved state: the empty migrated schema with its
seed rows, or a module's snapshot. Saved states are copies of the non-empty tables in a schema of their own
(``cw_state_N``) plus every sequence's position; putting one back deletes the rows of every non-empty table and
copies the state's rows in, with foreign-key triggers off, in one transaction (about 0.03 s; the tests' idle pooled
connections stay open, their catalog caches warm). A
test that changes the schema itself (the migration tests) is seen by the catalog fingerprint, and the scratch
database is made again from the template.
"""

from __future__ import annotations

import copy
import datetime as dt
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
from tests.factories import local_today

T = TypeVar("T")


@dataclass
class Database:
    url: str
    dialect: str
    path: Path | None = None  # the SQLite file
    name: str | None = None  # the PostgreSQL database
    admin_url: str | None = None
    # The worker's PostgreSQL scratch database, not yet put back into a state: a test that takes a snapshot gets
    # the snapshot's state, not first the empty one and then the snapshot.
    scratch: PgScratch | None = None
    pending: bool = False

    def create_pending(self) -> None:
        """Put the scratch database back into the empty migrated state, unless that was done already."""
        if self.pending and self.scratch is not None:
            self.scratch.restore(self.scratch.base)
        self.pending = False


@functools.cache
def pg_admin_engine(admin_url: str) -> Engine:
    """One pooled AUTOCOMMIT engine per worker on the server's maintenance database: creating and dropping a
    database per test then costs no new connection."""
    return create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")


def copy_strategy(conn: Any) -> str:
    version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    # FILE_COPY (PostgreSQL 15+) copies the small template's files instead of WAL-logging every block.
    return " STRATEGY FILE_COPY" if version >= 150000 else ""


# The application name of the tests' connections (the process's pooled engine, the World's, subprocesses'):
# between tests the idle ones are kept, so the next test finds warm connections; any other session is ended.
POOLED = "cw_test"

_STATE_COPY = "CREATE TABLE {schema}.{table} AS TABLE public.{table}"


@dataclass(frozen=True)
class PgState:
    schema: str
    tables: tuple[str, ...]  # the tables that had rows
    sequences: tuple[tuple[str, int | None], ...]  # (name, last value or None when never used)


class PgScratch:
    """One PostgreSQL database per worker, put back into a saved state before each test (see the module text)."""

    def __init__(self, admin_url: str, template: str, worker: str) -> None:
        self.admin_url = admin_url
        self.template = template
        self.name = f"cw_scratch_{worker}"
        # The tests' own connections name themselves: idle ones outlive the reset between tests (see restore).
        self.url = make_url(admin_url).set(
            drivername="postgresql+psycopg", database=self.name, query={"application_name": POOLED}
        )
        self._counter = 0
        self._engine: Engine | None = None
        self.generation = 0  # bumped when the database is made again: states of an earlier one are gone
        self._create()

    def _create(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        admin = pg_admin_engine(self.admin_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"{copy_strategy(conn)}'))
        # The resetting connection names itself, so clearing out other sessions leaves it alone.
        self._engine = create_engine(self.url.set(query={"application_name": "cw_reset"}), pool_size=1)
        self.generation += 1
        with self._engine.begin() as conn:
            self.tables = tuple(
                conn.execute(
                    # Tables that hold rows: plain tables and the partitions of partitioned ones (0031_pg_partitions),
                    # not the partitioned tables themselves, whose rows are their partitions'.
                    text(
                        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
                        "AND relname <> 'alembic_version' ORDER BY relname"
                    )
                ).scalars()
            )
            self.fingerprint = self._fingerprint(conn)
            # Tables with generated columns (the knowledge base's stored tsvector) take their rows back with the
            # other columns named: a generated column cannot be inserted into.
            generated = set(
                conn.execute(
                    text(
                        "SELECT DISTINCT table_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND is_generated <> 'NEVER'"
                    )
                ).scalars()
            )
            self.columns = {
                table: ", ".join(
                    f'"{name}"'
                    for name in conn.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                            "AND table_name = :table AND is_generated = 'NEVER' ORDER BY ordinal_position"
                        ),
                        {"table": table},
                    ).scalars()
                )
                for table in generated
            }
        self.base = self.save()

    @staticmethod
    def _fingerprint(conn: Any) -> str:
        return str(
            conn.execute(
                text(
                    "SELECT md5(string_agg(c.relname || ':' || c.relkind::text || ':' || "
                    "(SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 "
                    "AND NOT a.attisdropped), ',' ORDER BY c.relname)) "
                    "|| (SELECT coalesce(max(version_num), '') FROM public.alembic_version) "
                    "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
                )
            ).scalar_one()
        )

    def _non_empty(self, conn: Any) -> list[str]:
        probe = " UNION ALL ".join(
            f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM public.\"{table}\")" for table in self.tables
        )
        return list(conn.execute(text(probe)).scalars())

    def save(self) -> PgState:
        """Keep the database's current rows and sequence positions as a state to put back later."""
        assert self._engine is not None
        self._counter += 1
        schema = f"cw_state_{self._counter}"
        with self._engine.begin() as conn:
            tables = self._non_empty(conn)
            conn.execute(text(f"CREATE SCHEMA {schema}"))
            for table in tables:
                conn.execute(text(_STATE_COPY.format(schema=schema, table=f'"{table}"')))
            sequences = tuple(
                (str(name), None if value is None else int(value))
                for name, value in conn.execute(
                    text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
                )
            )
        return PgState(schema, tuple(tables), sequences)

    def check_schema(self) -> bool:
        """False when a test changed the schema (and the database was made again from the template)."""
        assert self._engine is not None
        self._disconnect_others()
        with self._engine.begin() as conn:
            if self._fingerprint(conn) == self.fingerprint:
                return True
        self._create()
        return False

    def _disconnect_others(self) -> None:
        admin = pg_admin_engine(self.admin_url)
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name "
                    "AND application_name <> 'cw_reset' AND NOT (application_name = :pooled AND state = 'idle')"
                ),
                {"name": self.name, "pooled": POOLED},
            )

    def restore(self, state: PgState) -> None:
        assert self._engine is not None
        self._disconnect_others()
        with self._engine.begin() as conn:
            # Foreign keys are not checked while the state's rows come back in (a superuser's session setting).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            # DELETE, not TRUNCATE: TRUNCATE gives every table new files and drops the catalog caches of every
            # connection (~0.1-0.3 s a test); tests that read a list compare it in the order the query names.
            for table in sorted(set(self._non_empty(conn)) | set(state.tables)):
                conn.execute(text(f'DELETE FROM public."{table}"'))
            for table in state.tables:
                named = self.columns.get(table)
                if named is None:
                    conn.execute(text(f'INSERT INTO public."{table}" SELECT * FROM {state.schema}."{table}"'))
                else:
                    conn.execute(
                        text(f'INSERT INTO public."{table}" ({named}) SELECT {named} FROM {state.schema}."{table}"')
                    )
            if state.sequences:
                conn.execute(
                    text(
                        "SELECT "
                        + ", ".join(
                            f"setval('public.\"{name}\"', {value or 1}, {'true' if value is not None else 'false'})"
                            for name, value in state.sequences
                        )
                    )
                )

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        admin = pg_admin_engine(self.admin_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


@dataclass
class SnapshotStore:
    """One per worker session: the saved databases, by (dialect, key, day), and what their builders returned."""

    directory: Path
    # (dialect, key, the local day it was built on) -> (an SQLite file, or a PostgreSQL state with the scratch
    # generation it belongs to; what the builder returned)
    saved: dict[tuple[str, str, dt.date], tuple[Any, Any]] = field(default_factory=dict)

    def take(self, database: Database, key: str, build: Callable[[], T]) -> T:
        # A world is built on a day (licences expiring in ten days, surveys sent today): once the insurers' local
        # day has moved on (the suite crossed 16:00 UTC), it is built again.
        day = local_today()
        found = self.saved.get((database.dialect, key, day))
        if found is not None and (database.scratch is None or found[0][1] == database.scratch.generation):
            reference, value = found
            _restore(database, reference)
            return copy.deepcopy(value)  # type: ignore[no-any-return]
        database.create_pending()
        value = build()
        reference = self._save(database)
        self.saved[(database.dialect, key, day)] = (reference, copy.deepcopy(value))
        return value

    def _save(self, database: Database) -> Any:
        db.get_engine().dispose()
        if database.dialect == "sqlite":
            assert database.path is not None
            target = self.directory / f"{uuid.uuid4().hex}.db"
            for suffix in ("", "-wal"):
                source = Path(f"{database.path}{suffix}")
                if source.exists():
                    shutil.copyfile(source, Path(f"{target}{suffix}"))
            return str(target)
        assert database.scratch is not None
        return (database.scratch.save(), database.scratch.generation)


def _restore(database: Database, reference: Any) -> None:
    db.database_replaced()
    if database.dialect == "sqlite":
        db.get_engine().dispose()
        assert database.path is not None
        for suffix in ("-wal", "-shm"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            source = Path(f"{reference}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{database.path}{suffix}"))
        return
    assert database.scratch is not None
    database.scratch.restore(reference[0])
    database.pending = False


class Snapshot:
    """``db_snapshot("web.seeded", lambda: build(world))``: the fixture's world, built once per worker."""

    def __init__(self, store: SnapshotStore, database: Database) -> None:
        self.store = store
        self.database = database

    def __call__(self, key: str, build: Callable[[], T]) -> T:
        return self.store.take(self.database, key, build)


def store_for(directory: Path) -> Iterator[SnapshotStore]:
    yield SnapshotStore(directory)
