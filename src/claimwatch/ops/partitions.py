"""Monthly partitions of the big append-only tables on PostgreSQL (migration 0031_pg_partitions): case events, audit
entries, clock events and the outbox, each partitioned by a write-time column in UTC months (``<table>_pYYYYMM``)
with a DEFAULT partition (``<table>_pdefault``) that takes any row no month is there for, so an insert never fails.

* :func:`ensure` (a worker job, and ``claimwatch partitions ensure``) creates the months from the current one to
  ``CLAIMWATCH_PARTITION_MONTHS_AHEAD`` ahead, and a month for rows that landed in the DEFAULT partition (they are
  moved into it). Each new partition gets the per-partition unique indexes its DEFAULT sibling has (the unique
  constraints PostgreSQL cannot keep on the whole table because they lack the partition key).
* :func:`archive` (``claimwatch partitions archive --before YYYY-MM --out DIR``) takes every month before the given
  one: checks the month's audit entries (a consecutive run of each tenant's chain that links to the previous
  archive boundary, contents re-hashed), brings the evidence tree up to them and takes the signed head covering
  them, writes the month's rows of the four tables as gzipped JSON lines with a manifest (row counts and SHA-256 of
  every file, each tenant's first and last seq, the hashes they link from and to, the evidence head), records the
  boundary in ``audit_archives`` and as an entry of each tenant's chain, then detaches and drops the partitions,
  all in one transaction after the files are written. ``claimwatch audit verify`` then starts at the boundary.

SQLite has no partitions: both refuse there (``ensure`` does nothing).
"""

# SQL here names tables, partitions and columns read from the catalog or made from code constants and dates,
# never from input text.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from claimwatch.audit import repository as audit_repository
from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import GENESIS_HASH
from claimwatch.audit.models import AuditArchive, AuditEntry
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Conflict, Invalid
from claimwatch.evidence import heads as evidence_heads
from claimwatch.evidence import store as evidence_store
from claimwatch.migrate import PARTITION_NAME
from claimwatch.tenancy import repository as tenancy_repository

ARCHIVE_FORMAT = 1
# One lock for partition maintenance: two workers (or a worker and `partitions archive`) never change them at once.
_LOCK_KEY = 0x63770031
# DDL on a partitioned table waits for the writers in flight; it gives up rather than stall ingestion behind it.
_LOCK_TIMEOUT = "10s"
# PostgreSQL's SQLSTATE when a new partition's range has rows in the DEFAULT partition.
_CHECK_VIOLATION = "23514"
_PENDING_OUTBOX = ("queued", "failed")


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def next_month(value: dt.date) -> dt.date:
    return (value.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _bound(value: dt.date) -> str:
    return f"'{value.isoformat()} 00:00:00+00'"


def partition_name(table: str, month: dt.date | None) -> str:
    return f"{table}_pdefault" if month is None else f"{table}_p{month:%Y%m}"


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    month: dt.date | None  # None: the DEFAULT partition


def is_partitioned(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql" and bool(partitioned_tables(session))


def partitioned_tables(session: Session) -> dict[str, str]:
    """The partitioned tables and their partition key column, from the catalog."""
    if session.get_bind().dialect.name != "postgresql":
        return {}
    rows = session.execute(
        text(
            "SELECT c.relname, a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname"
        )
    ).all()
    return {str(table): str(key) for table, key in rows}


def partitions(session: Session, table: str) -> list[Partition]:
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:table AS regclass) ORDER BY c.relname"
        ),
        {"table": table},
    ).scalars()
    found = []
    for name in names:
        match = PARTITION_NAME.match(name)
        if match is None:
            continue
        suffix = match.group(2)
        month = None if suffix == "default" else dt.date(int(suffix[:4]), int(suffix[4:]), 1)
        found.append(Partition(table, name, month))
    return found


def _local_uniques(session: Session, table: str) -> list[list[str]]:
    """The unique indexes of the DEFAULT partition that are its own (not a partition of a parent index): the
    uniques every partition of ``table`` carries."""
    rows = session.execute(
        text(
            "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index x "
            "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
            "WHERE x.indrelid = CAST(:partition AS regclass) AND x.indisunique AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = x.indexrelid) "
            "GROUP BY x.indexrelid ORDER BY min(x.indexrelid)"
        ),
        {"partition": partition_name(table, None)},
    ).scalars()
    return [list(columns) for columns in rows]


def _create_uniques(session: Session, partition: str, uniques: list[list[str]]) -> None:
    for columns in uniques:
        session.execute(
            text(f'CREATE UNIQUE INDEX "uq_{partition}_{"_".join(columns)}" ON "{partition}" ({", ".join(columns)})')
        )


def _create_month(session: Session, table: str, key: str, month: dt.date, uniques: list[list[str]]) -> int:
    """Create ``table``'s partition for ``month``; rows of that month in the DEFAULT partition move into it (the
    DEFAULT partition is detached meanwhile). Returns the rows moved."""
    name = partition_name(table, month)
    default = partition_name(table, None)
    create = (
        f'CREATE TABLE "{name}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(next_month(month))})"
    )
    try:
        with session.begin_nested():
            session.execute(text(create))
            _create_uniques(session, name, uniques)
        return 0
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _CHECK_VIOLATION:
            raise
    in_month = f'"{key}" >= {_bound(month)} AND "{key}" < {_bound(next_month(month))}'
    session.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{default}"'))
    session.execute(text(create))
    moved = session.execute(text(f'INSERT INTO "{name}" SELECT * FROM "{default}" WHERE {in_month}')).rowcount  # type: ignore[attr-defined]
    session.execute(text(f'DELETE FROM "{default}" WHERE {in_month}'))
    _create_uniques(session, name, uniques)
    session.execute(text(f'ALTER TABLE "{table}" ATTACH PARTITION "{default}" DEFAULT'))
    return int(moved)


@dataclass
class EnsureResult:
    created: list[str] = field(default_factory=list)
    moved: int = 0  # rows moved out of DEFAULT partitions


def _maintenance_lock(session: Session) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    session.execute(text(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'"))


def ensure(
    now: dt.datetime | None = None, months_ahead: int | None = None, since: dt.date | None = None
) -> EnsureResult:
    """Create the partitions from this month (or from the month of ``since``: before loading history) to
    ``months_ahead`` months ahead, and a month for rows that landed in a DEFAULT partition (a job: owns its
    transaction). Nothing on SQLite."""
    ahead = get_settings().partition_months_ahead if months_ahead is None else months_ahead
    result = EnsureResult()
    with unit_of_work(TenantContext.system_context()) as session:
        tables = partitioned_tables(session)
        if not tables:
            return result
        _maintenance_lock(session)
        current = month_start((now or utc_now()).astimezone(dt.UTC).date())
        first = min(current, month_start(since)) if since is not None else current
        wanted = [first]
        while wanted[-1] < current:
            wanted.append(next_month(wanted[-1]))
        for _ in range(ahead):
            wanted.append(next_month(wanted[-1]))
        for table, key in tables.items():
            have = {p.month for p in partitions(session, table)}
            stray = session.execute(
                text(
                    f"SELECT DISTINCT CAST(date_trunc('month', \"{key}\", 'UTC') AT TIME ZONE 'UTC' AS date) "
                    f'FROM "{partition_name(table, None)}"'
                )
            ).scalars()
            uniques = _local_uniques(session, table)
            for month in sorted(set(wanted) | set(stray)):
                if month not in have:
                    result.moved += _create_month(session, table, key, month, uniques)
                    result.created.append(partition_name(table, month))
    return result


def listing() -> list[dict[str, Any]]:
    """Every partition with its rows (estimated from the statistics) and bounds, for `partitions list`."""
    with unit_of_work(TenantContext.system_reader()) as session:
        rows = []
        for table in partitioned_tables(session):
            for part in partitions(session, table):
                estimate = session.execute(
                    text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"), {"name": part.name}
                ).scalar_one()
                rows.append(
                    {
                        "table": table,
                        "partition": part.name,
                        "month": "default" if part.month is None else f"{part.month:%Y-%m}",
                        "rows": max(int(estimate), 0),
                    }
                )
        return rows


# --- archive ---------------------------------------------------------------------------------------------------


def parse_month(value: str, field: str = "before") -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").replace(tzinfo=dt.UTC).date()
    except ValueError:
        raise Invalid(field, f"{value!r} is not a month (YYYY-MM)") from None


@dataclass
class ArchivedMonth:
    month: str
    folder: Path
    rows: dict[str, int]
    tenants: int


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _write_rows(session: Session, partition: str, key: str, path: Path) -> tuple[int, str]:
    """The partition's rows as gzipped JSON lines (column: value), in primary-key order; (rows, SHA-256)."""
    statement = text(f'SELECT * FROM "{partition}" ORDER BY id, "{key}"').execution_options(
        stream_results=True, yield_per=5000
    )
    rows = session.connection().execute(statement)
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        names = list(rows.keys())
        for row in rows:
            out.write(json.dumps(dict(zip(names, map(_json_value, row), strict=True)), ensure_ascii=False) + "\n")
            count += 1
    return count, _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pages_through(pages: Iterator[list[AuditEntry]], last_seq: int) -> Iterator[list[AuditEntry]]:
    for page in pages:
        kept = [entry for entry in page if entry.seq <= last_seq]
        if kept:
            yield kept
        if len(kept) < len(page):
            return


@dataclass
class _TenantRun:
    tenant_id: int
    code: str
    first_seq: int
    last_seq: int
    entries: int
    prev_hash: str
    last_hash: str = ""
    head: dict[str, Any] = field(default_factory=dict)
    tree_root: str = ""


def _check_month(session: Session, month: dt.date, tables: dict[str, str]) -> list[_TenantRun]:
    """Refuse a month that cannot leave the database whole; the tenants' runs of the chain it holds."""
    audit_part = partition_name("audit_entries", month)
    lo, hi = _bound(month), _bound(next_month(month))
    if "outbox_messages" in tables and partition_name("outbox_messages", month) in _names(session, "outbox_messages"):
        statuses = ", ".join(f"'{status}'" for status in _PENDING_OUTBOX)
        pending = session.execute(
            text(f'SELECT count(*) FROM "{partition_name("outbox_messages", month)}" WHERE status IN ({statuses})')
        ).scalar_one()
        if pending:
            raise Conflict("before", f"{month:%Y-%m} still has {pending} outbox messages to send; archive it later")
    if audit_part not in _names(session, "audit_entries"):
        return []
    runs = []
    spans = session.execute(
        text(
            f'SELECT tenant_id, min(seq), max(seq), count(*) FROM "{audit_part}" GROUP BY tenant_id ORDER BY tenant_id'
        )
    ).all()
    for tenant_id, first_seq, last_seq, entries in spans:
        boundary = audit_service.archive_boundary(session, tenant_id)
        prev_seq, prev_hash = (boundary.last_seq, boundary.last_hash) if boundary else (0, GENESIS_HASH)
        if first_seq != prev_seq + 1 or entries != last_seq - first_seq + 1:
            raise Conflict(
                "before",
                f"tenant {tenant_id}: the entries of {month:%Y-%m} are seq {first_seq}-{last_seq} ({entries} rows), "
                f"not the run after the archive boundary {prev_seq}: archive the earlier months first",
            )
        straddling = session.execute(
            text(
                "SELECT min(seq) FROM audit_entries WHERE tenant_id = :tenant AND seq <= :last "
                f"AND (recorded_at < {lo} OR recorded_at >= {hi})"
            ),
            {"tenant": tenant_id, "last": last_seq},
        ).scalar_one()
        if straddling is not None:
            raise Conflict("before", f"tenant {tenant_id}: entry {straddling} of the run is stored in another month")
        code = tenancy_repository.tenant_by_id(session, tenant_id)
        runs.append(
            _TenantRun(tenant_id, code.code if code else str(tenant_id), first_seq, last_seq, entries, prev_hash)
        )
    by_tenant = {run.tenant_id: run for run in runs}
    events_part = partition_name("case_events", month)
    if events_part in _names(session, "case_events"):
        for tenant_id, last_event_seq in session.execute(
            text(f'SELECT tenant_id, max(audit_seq) FROM "{events_part}" GROUP BY tenant_id')
        ).all():
            run = by_tenant.get(tenant_id)
            if run is None or last_event_seq > run.last_seq:
                raise Conflict(
                    "before", f"tenant {tenant_id}: case events of {month:%Y-%m} have chain entries in a later month"
                )
    return runs


def _names(session: Session, table: str) -> set[str]:
    return {p.name for p in partitions(session, table)}


def _seal_runs(session: Session, runs: Sequence[_TenantRun], month: dt.date) -> None:
    """Check each run's links and contents, and take the evidence head that covers it."""
    for run in runs:
        report = audit_service.check_range(
            session,
            run.tenant_id,
            _pages_through(audit_repository.stream_chain(session, run.tenant_id, run.first_seq - 1), run.last_seq),
            run.first_seq - 1,
            run.prev_hash,
        )
        if not report.ok or report.last_seq != run.last_seq:
            raise Conflict(
                "before", f"tenant {run.code}: {report.first_problem or 'the run is incomplete'}; not archived"
            )
        run.last_hash = report.running_hash  # where a block ends there, its link hash: what verify continues from
        head = evidence_heads.covering(session, run.tenant_id, run.last_seq)
        assert head is not None
        run.head = {
            "tree_size": head.tree_size,
            "root_hash": head.root_hash,
            "signed_at": evidence_heads.format_signed_at(head.signed_at),
            "key_id": head.key_id,
            "signature": head.signature,
        }
        run.tree_root = evidence_store.root(session, run.tenant_id, run.last_seq).hex()


def _archive_month(session: Session, month: dt.date, out: Path, tables: dict[str, str], actor: str) -> ArchivedMonth:
    runs = _check_month(session, month, tables)
    _seal_runs(session, runs, month)
    folder = out / f"{month:%Y-%m}"
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for table, key in tables.items():
        name = partition_name(table, month)
        if name not in _names(session, table):
            continue
        path = folder / f"{table}.jsonl.gz"
        rows, digest = _write_rows(session, name, key, path)
        files[table] = {"file": path.name, "rows": rows, "sha256": digest, "partition_key": key}
    manifest = {
        "format": ARCHIVE_FORMAT,
        "month": f"{month:%Y-%m}",
        "range_utc": [f"{month.isoformat()}T00:00:00+00:00", f"{next_month(month).isoformat()}T00:00:00+00:00"],
        "created_at": utc_now().isoformat(),
        "tables": files,
        "audit_chains": [
            {
                "tenant_id": run.tenant_id,
                "tenant": run.code,
                "first_seq": run.first_seq,
                "last_seq": run.last_seq,
                "entries": run.entries,
                "links_from_hash": run.prev_hash,
                "last_hash": run.last_hash,
                "tree_root_at_last_seq": run.tree_root,
                "evidence_head": run.head,
            }
            for run in runs
        ],
    }
    manifest_path = folder / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    manifest_sha = _sha256(manifest_path)
    for run in runs:
        audit_service.record_archive(
            session,
            AuditArchive(
                tenant_id=run.tenant_id,
                month=f"{month:%Y-%m}",
                first_seq=run.first_seq,
                last_seq=run.last_seq,
                last_hash=run.last_hash,
                entries=run.entries,
                archive=str(manifest_path),
                manifest_sha256=manifest_sha,
                tree_size=run.head.get("tree_size"),
                tree_root=run.tree_root,
                archived_at=utc_now(),
            ),
            actor,
        )
    session.execute(text(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'"))
    for table in tables:
        name = partition_name(table, month)
        if name in _names(session, table):
            session.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"'))
            session.execute(text(f'DROP TABLE "{name}"'))
    return ArchivedMonth(f"{month:%Y-%m}", folder, {t: f["rows"] for t, f in files.items()}, len(runs))


def archive(
    before: dt.date, out: Path, actor: str = "system:partitions", now: dt.datetime | None = None
) -> list[ArchivedMonth]:
    """Archive, detach and drop every monthly partition before ``before`` (the first of a month, not after the
    current month), oldest first, one transaction per month; see the module text."""
    current = month_start((now or utc_now()).astimezone(dt.UTC).date())
    if before.day != 1:
        raise Invalid("before", "give a month (YYYY-MM)")
    if before > current:
        raise Invalid(
            "before", f"{before:%Y-%m} is after the current month {current:%Y-%m}: its rows are still written"
        )
    done: list[ArchivedMonth] = []
    while True:
        with unit_of_work(TenantContext.system_context()) as session:
            tables = partitioned_tables(session)
            if not tables:
                raise Invalid("database", "partitions are a PostgreSQL feature: this database has none")
            _maintenance_lock(session)
            months = sorted(
                {
                    p.month
                    for table in tables
                    for p in partitions(session, table)
                    if p.month is not None and p.month < before
                }
            )
            if not months:
                return done
            done.append(_archive_month(session, months[0], out, tables, actor))
