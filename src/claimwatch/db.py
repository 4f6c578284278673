"""Engine, sessions and the one place where every query is scoped to the caller's tenant.

A session carries a :class:`TenantContext` in ``session.info``. Every ORM SELECT, UPDATE and
DELETE on a :class:`TenantScoped` model gets ``tenant_id = :tenant`` added here, and every
flush refuses rows of another tenant, so repositories and routes cannot forget the filter.
A context with ``tenant_id=None`` is the cross-tenant read-only view of a regulator; the
system context (CLI, migrations, demo loader) is explicit and never reachable from HTTP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, String, Table, Text, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.types import TypeDecorator

from claimwatch.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enum_column(enum_cls: type[enum.Enum], length: int = 32) -> Enum:
    """Stores an enum's values (not its member names) as plain strings on every database."""
    return Enum(enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC and always returns tz-aware UTC datetimes, on SQLite as on PostgreSQL.

    Naive datetimes are refused: they are the classic source of off-by-eight-hours bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; pass a timezone-aware value")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class TenantScoped:
    """Mixin for rows that belong to one tenant (insurer)."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr signature
        from sqlalchemy import ForeignKey

        # No index of its own: every scoped table leads a composite index or unique key with tenant_id.
        return mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False)


@dataclass(frozen=True)
class TenantContext:
    """Whose data a session may see and write."""

    tenant_id: int | None
    read_only: bool = False
    system: bool = False

    @classmethod
    def for_tenant(cls, tenant_id: int) -> TenantContext:
        return cls(tenant_id=tenant_id)

    @classmethod
    def regulator(cls) -> TenantContext:
        return cls(tenant_id=None, read_only=True)

    @classmethod
    def regulator_of(cls, tenant_id: int) -> TenantContext:
        """A regulator's read-only view narrowed to one insurer: strictly less than what it may already read."""
        return cls(tenant_id=tenant_id, read_only=True)

    @classmethod
    def anonymous(cls, tenant_id: int, *, read_only: bool = False) -> TenantContext:
        """A claimant without an account (lookup, survey link) acting on one insurer's data: the caller
        proved a secret first, so writes are allowed, but only that insurer's; ``read_only`` for what
        only shows the claimant something."""
        return cls(tenant_id=tenant_id, read_only=read_only)

    @classmethod
    def system_context(cls) -> TenantContext:
        return cls(tenant_id=None, system=True)

    @classmethod
    def system_reader(cls) -> TenantContext:
        """The system context for reads only (resolving who calls): no write lock is taken."""
        return cls(tenant_id=None, read_only=True, system=True)


class TenantViolation(PermissionError):
    """A write or query crossed the tenant boundary."""


def tenant_context(session: Session) -> TenantContext:
    ctx = session.info.get("tenant")
    if ctx is None:
        raise TenantViolation("session has no tenant context")
    return ctx


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("include_all_tenants", False):
        return
    ctx: TenantContext | None = state.session.info.get("tenant")
    if ctx is None:
        raise TenantViolation("query without tenant context")
    if ctx.read_only and (state.is_update or state.is_delete):
        raise TenantViolation("read-only context cannot change data")
    if ctx.tenant_id is None:
        return
    state.statement = state.statement.options(_tenant_criteria(ctx.tenant_id))


@functools.lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: int) -> Any:
    """The loader option that narrows a query to one tenant, built once per tenant: building it (the lambda's
    analysis and coercions) cost about a third of a simple indexed ORM query (measured on the lookup)."""
    return _TenantCriteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


_scoped_mappers: tuple[Mapper[Any], ...] | None = None


@event.listens_for(Mapper, "after_mapper_constructed")
def _forget_scoped_mappers(mapper: Mapper[Any], class_: type) -> None:
    global _scoped_mappers
    _scoped_mappers = None


class _TenantCriteria(LoaderCriteriaOption):
    """``with_loader_criteria`` on the mixin, listing the mapped classes under it once. SQLAlchemy walks the
    mixin's subclasses and inspects each (~100 here) on every compile and on every ORM UPDATE or DELETE that
    synchronises the session (each execution): about 1 ms a statement. The list changes only when a class is
    mapped."""

    # The same cache key as the plain option (its traversal, which it names only as _traverse_internals): only how
    # the classes are listed differs.
    inherit_cache = True
    _cache_key_traversal = LoaderCriteriaOption._traverse_internals

    def _all_mappers(self) -> Iterator[Mapper[Any]]:
        global _scoped_mappers
        if _scoped_mappers is None:
            _scoped_mappers = tuple(super()._all_mappers())
        return iter(_scoped_mappers)


@event.listens_for(Session, "before_flush")
def _refuse_foreign_rows(session: Session, flush_context: Any, instances: Any) -> None:
    ctx: TenantContext | None = session.info.get("tenant")
    if ctx is None:
        raise TenantViolation("write without tenant context")
    if ctx.read_only and (session.new or session.dirty or session.deleted):
        raise TenantViolation("read-only context cannot change data")
    if ctx.tenant_id is None:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantScoped) and obj.tenant_id != ctx.tenant_id:
            raise TenantViolation(f"{type(obj).__name__} belongs to another tenant")


# Execution option of a session that may write: on SQLite its transactions begin IMMEDIATE.
IMMEDIATE = "claimwatch_begin_immediate"
BUSY_TIMEOUT_SECONDS = 30


def _configure_sqlite(engine: Engine) -> None:
    synchronous = get_settings().sqlite_synchronous

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself so a transaction really covers its reads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL (the default): a commit is on disk before the API acknowledges it, even across a power cut
        # (NORMAL in WAL mode may lose the last commits then, and a sender never resends an acknowledged event).
        # Measured cost: about 0.3 ms per commit, nothing visible on batches.
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock: SQLite
        # answers "database is locked" at once (waiting could deadlock, and its snapshot may be stale).
        # So a session that may write takes the lock at BEGIN, where busy_timeout lets it queue;
        # read-only sessions keep a deferred BEGIN and never wait for writers (WAL).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")


def _with_driver(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = _with_driver(url or get_settings().database_url)
    if url.startswith("sqlite"):
        # pysqlite's own wait (5 s by default); the busy_timeout PRAGMA on connect sets the same.
        kwargs.setdefault("connect_args", {}).setdefault("timeout", BUSY_TIMEOUT_SECONDS)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
# Bumped when the database behind the process's URL is replaced by another one (the test suite puts a saved copy
# back before each test): a process cache of rows (triage's rule set in force) keys on it with the URL, since the
# same URL no longer means the same rows.
_data_generation = 0


def data_generation() -> int:
    return _data_generation


def database_replaced() -> None:
    """The rows behind the configured URL were swapped for others: forget what was read from the old ones."""
    global _data_generation
    _data_generation += 1


def get_engine() -> Engine:
    global _engine, _sessionmaker
    if _engine is None:
        _engine = make_engine()
        _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def configure(url: str) -> Engine:
    """Point the process at another database (tests, CLI --database).

    Pointed again at the database it is on, the process keeps its engine and its pooled connections: the
    engine's compiled-statement cache is keyed by its dialect, so a new engine would compile every statement again,
    and a new PostgreSQL connection starts with cold catalog caches (the test suite re-points the process before
    each test)."""
    global _engine, _sessionmaker
    if _engine is not None:
        if _engine.url.render_as_string(hide_password=False) == _with_driver(url):
            return _engine
        _engine.dispose()
    _engine = make_engine(url)
    _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def new_session(ctx: TenantContext) -> Session:
    get_engine()
    assert _sessionmaker is not None
    session = _sessionmaker(execution_options={} if ctx.read_only else {IMMEDIATE: True})
    session.info["tenant"] = ctx
    return session


@contextlib.contextmanager
def unit_of_work(ctx: TenantContext) -> Iterator[Session]:
    """The one place that commits: success commits, any exception rolls back."""
    session = new_session(ctx)
    try:
        yield session
    except BaseException:
        end_unit_of_work(session, ctx, failed=True)
        raise
    end_unit_of_work(session, ctx, failed=False)


def end_unit_of_work(session: Session, ctx: TenantContext, *, failed: bool) -> None:
    """How a unit of work ends: committed if it succeeded and may write, else rolled back; closed in any case."""
    try:
        if failed or ctx.read_only:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def untouched(session: Session) -> bool:
    """The session has begun no transaction and holds no change: ending it talks to no database."""
    return session.get_transaction() is None and not (session.new or session.dirty or session.deleted)


def driver_connection(session: Session) -> Any:
    """The DB-API connection under the session's transaction (for COPY and array statements)."""
    driver = session.connection().connection.driver_connection
    if driver is None:
        raise RuntimeError("session has no live database connection")
    return driver


def pg_cast(column: Any) -> str:
    """The PostgreSQL type a driver statement casts ``column``'s parameter to: the column's own type, compiled. A
    string column casts to plain ``varchar``: an explicit cast to ``varchar(n)`` cuts a longer value, where the
    column itself refuses it."""
    column_type = column.type
    if isinstance(column_type, String) and not isinstance(column_type, Text):
        return "varchar"
    return str(column_type.compile(dialect=postgresql.dialect())).lower()


def driver_rows(
    session: Session, postgresql_sql: str, sqlite_sql: str, parameters: Sequence[Any] | Mapping[str, Any]
) -> list[Any]:
    """The rows of one fixed statement run on the session's DB-API connection, in its transaction: prepared
    server-side on PostgreSQL (``%s`` or ``%(name)s`` placeholders), plain on SQLite (``?`` or ``:name``). For the
    hottest one-row reads, where SQLAlchemy's compiling and result processing cost more than the query."""
    cursor = driver_connection(session).cursor()
    try:
        if session.get_bind().dialect.name == "postgresql":
            cursor.execute(postgresql_sql, parameters, prepare=True)
        else:
            cursor.execute(sqlite_sql, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def stored_instant(value: Any) -> dt.datetime | None:
    """An instant read by the DB-API as :class:`UTCDateTime` reads it: tz-aware UTC (SQLite gives its naive-UTC
    text, PostgreSQL a datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def sqlite_timestamp(value: dt.datetime | None) -> str | None:
    """A UTC datetime exactly as :class:`UTCDateTime` stores it on SQLite (naive UTC text)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def bulk_insert(
    session: Session, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], timestamp_columns: int = 0
) -> None:
    """Append many rows in the session's transaction by the fastest route each database offers:
    COPY on PostgreSQL, the driver's executemany on SQLite.

    Hot paths only (event ingestion, audit entries): rows bypass the ORM, so the caller supplies
    ``tenant_id`` in every row. ``timestamp_columns`` is a bit mask of the tz-aware datetime columns
    that SQLite needs as text.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = driver_connection(session)
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - names are code constants
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    positions = [i for i in range(len(columns)) if timestamp_columns >> i & 1]
    placeholders = ", ".join("?" * len(columns))
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    connection.exec_driver_sql(statement, _sqlite_rows(rows, positions))


class SqliteStamps(dict[dt.datetime | None, str | None]):
    """:func:`sqlite_timestamp` of each distinct value once: a batch shares its ``now`` and many
    deadlines (whole-day deadlines all end at a local midnight)."""

    def __call__(self, value: dt.datetime | None) -> str | None:
        try:
            return self[value]
        except KeyError:
            text = self[value] = sqlite_timestamp(value)
            return text


def _sqlite_rows(rows: list[tuple[Any, ...]], timestamp_positions: list[int]) -> list[tuple[Any, ...]]:
    if not timestamp_positions:
        return rows
    stamp = SqliteStamps()
    converted = []
    for row in rows:
        values = list(row)
        for i in timestamp_positions:
            values[i] = stamp(values[i])
        converted.append(tuple(values))
    return converted


_PG_DIALECT = postgresql.dialect()


def bulk_insert_ignore(
    session: Session,
    model: type,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    constants: dict[str, Any] | None = None,
) -> None:
    """INSERT … ON CONFLICT DO NOTHING for many rows given as tuples of ``columns`` (every column the row
    needs: no ORM defaults apply): one statement over arrays on PostgreSQL, executemany on SQLite.
    ``constants``: columns with the same value in every row (the tenant, a status, ``now``), sent once instead
    of as an array of copies (on PostgreSQL the driver's per-element array work is most of the Python cost).
    Rows are tenant-owned like :func:`bulk_insert`'s: the caller supplies ``tenant_id``."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[attr-defined]
    fixed = dict(constants or {})
    names = ", ".join([*columns, *fixed])
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        types = [table.c[name].type.compile(dialect=_PG_DIALECT) for name in columns]
        # %b: arrays travel in binary; their text form would escape every element in Python.
        arrays = ", ".join(f"%b::{type_}[]" for type_ in types)
        scalars = "".join(f", %s::{table.c[name].type.compile(dialect=_PG_DIALECT)}" for name in fixed)
        statement = (
            f"INSERT INTO {table.name} ({names}) SELECT v.*{scalars} FROM unnest({arrays}) AS v"  # noqa: S608
            " ON CONFLICT DO NOTHING"
        )
        driver_connection(session).execute(
            statement, [*fixed.values(), *(list(column) for column in zip(*rows, strict=True))]
        )
        return
    all_columns = [*columns, *fixed]
    extra = tuple(fixed.values())
    stamps = [i for i, name in enumerate(all_columns) if isinstance(table.c[name].type, UTCDateTime)]
    placeholders = ", ".join("?" * len(all_columns))
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({placeholders}) ON CONFLICT DO NOTHING",  # noqa: S608
        _sqlite_rows([row + extra for row in rows] if extra else list(rows), stamps),
    )
