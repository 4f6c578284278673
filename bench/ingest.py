"""Event ingestion against raw inserts of the same rows, on SQLite and PostgreSQL, in one run.

    .venv/bin/python bench/ingest.py [--events 1000000] [--db both|sqlite|postgresql] [--batch-size 1000]

The real path is what the API and the importer do: parse each JSON line into ``EventIn`` and call
``ingest_events`` batch by batch, one committed transaction per batch (validation, workflow,
idempotency check, claim updates, encryption of claimant data, one audit-chain entry per event).
The baseline inserts the very case_events rows the real path stored, in batches of the same size,
one commit per batch: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, into an identically
indexed table. Prints events/s of both and their ratio; writes bench/results/ingest-*.json. Also times
validation and fingerprint alone over the same lines: with the raw insert, the bound of a design that only
stages events in the request and applies them later.
PostgreSQL: set CLAIMWATCH_BENCH_PG_URL (default: the local server `make test` starts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch import db, migrate  # noqa: E402
from claimwatch.audit import service as audit_service  # noqa: E402
from claimwatch.cases import repository as cases_repository  # noqa: E402
from claimwatch.cases import service as cases_service  # noqa: E402
from claimwatch.cases.schemas import EventIn  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.demo import jobs as demo_jobs  # noqa: E402
from claimwatch.demo.generator import DemoSpec, iter_tenant_events  # noqa: E402
from claimwatch.demo.organisation import DEMO_TENANTS  # noqa: E402
from claimwatch.imports.service import integration_principal  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("tenant_id", *cases_repository.EVENT_HASHED_FIELDS)
# Roughly 12 events per claim in the demo stream.
EVENTS_PER_CLAIM = 12.3


def generate_lines(events: int) -> list[bytes]:
    """The first ``events`` events of the PICC demo stream, as JSON lines."""
    claims = int(events / EVENTS_PER_CLAIM / DEMO_TENANTS[0].share * 1.1) + 10
    spec = DemoSpec(claims=claims, seed=42, start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31))
    stream = itertools.islice(iter_tenant_events(spec, 0), events)
    return [json.dumps(event, ensure_ascii=False).encode() for event in stream]


def prepare(url: str) -> int:
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code="PICC", name="人保财险").id
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        demo_jobs.add_org_tree(session, tenant_id, DEMO_TENANTS[0])
        demo_jobs.add_staff(session, tenant_id, DEMO_TENANTS[0])
    return tenant_id


CPU: dict[str, float] = {}  # CPU seconds of this process per phase (SQLite runs inside it: load-proof figures)


def ingest(lines: list[bytes], tenant_id: int, batch_size: int) -> float:
    principal = integration_principal(tenant_id, "bench")
    context = TenantContext.for_tenant(tenant_id)
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(lines), batch_size):
        events = [EventIn.model_validate_json(line) for line in lines[start : start + batch_size]]
        with unit_of_work(context) as session:
            cases_service.ingest_events(session, principal, events)
    CPU["ingest"] = time.process_time() - cpu
    return time.perf_counter() - started


def parse_only(lines: list[bytes]) -> float:
    """What any design must still do per event before the database: validation into ``EventIn`` and the
    content fingerprint (the idempotency check's key). With the raw insert it bounds a staging-table design."""
    started = time.perf_counter()
    for line in lines:
        cases_service.event_fingerprint(EventIn.model_validate_json(line))
    return time.perf_counter() - started


def stored_rows(tenant_id: int) -> list[tuple]:
    names = ", ".join(COLUMNS)
    with db.get_engine().connect() as conn:
        return [tuple(row) for row in conn.execute(text(f"select {names} from case_events order by id"))]


def verify(tenant_id: int) -> tuple[bool, float]:
    started = time.perf_counter()
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        report = audit_service.verify(session, tenant_id)
    return report.ok, time.perf_counter() - started


def raw_sqlite(rows: list[tuple], batch_size: int, directory: Path) -> float:
    path = directory / "raw.db"
    migrate.upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # the stored datetimes are already naive-UTC strings, exactly as SQLAlchemy wrote them
    statement = f"insert into case_events ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})"
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), batch_size):
        conn.execute("BEGIN")
        conn.executemany(statement, rows[start : start + batch_size])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    CPU["raw"] = time.process_time() - cpu
    conn.close()
    return elapsed


def raw_postgresql(url: str, rows: list[tuple], batch_size: int) -> float:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("create table raw_case_events (like case_events including all)")
        conn.commit()
        started = time.perf_counter()
        for start in range(0, len(rows), batch_size):
            with (
                conn.cursor() as cursor,
                cursor.copy(f"copy raw_case_events ({', '.join(COLUMNS)}) from stdin") as copy,
            ):
                for row in rows[start : start + batch_size]:
                    copy.write_row(row)
            conn.commit()
        return time.perf_counter() - started


def run(kind: str, lines: list[bytes], batch_size: int, pg_url: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        admin = None
        if kind == "sqlite":
            url = f"sqlite:///{directory / 'claimwatch.db'}"
        else:
            name = f"cw_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'create database "{name}"'))
            url = make_url(pg_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
        try:
            tenant_id = prepare(url)
            real = ingest(lines, tenant_id, batch_size)
            ok, verify_seconds = verify(tenant_id)
            rows = stored_rows(tenant_id)
            assert len(rows) == len(lines), (len(rows), len(lines))
            raw = raw_sqlite(rows, batch_size, directory) if kind == "sqlite" else raw_postgresql(url, rows, batch_size)
            parse = parse_only(lines)
        finally:
            db.get_engine().dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'drop database if exists "{name}" with (force)'))
                admin.dispose()
    result = {
        "database": kind,
        "events": len(lines),
        "batch_size": batch_size,
        "ingest_events_per_s": round(len(lines) / real),
        "raw_events_per_s": round(len(lines) / raw),
        "ratio": round(raw / real, 3),  # (events/real) ÷ (events/raw)
        # validation + fingerprint, then the raw insert: a staging-table ingest could not be faster than this
        "parse_events_per_s": round(len(lines) / parse),
        "staging_bound_ratio": round(raw / (parse + raw), 3),
        "audit_verified": ok,
        # SQLite only (PostgreSQL's work is in the server): the ratio of this process's CPU seconds, which the
        # other jobs of a loaded machine do not inflate as they do wall time
        "cpu_ratio": round(CPU["raw"] / CPU["ingest"], 3) if kind == "sqlite" else None,
        "verify_seconds": round(verify_seconds, 1),
    }
    print(
        f"{kind:<10} ingest {result['ingest_events_per_s']:>9,} ev/s   raw {result['raw_events_per_s']:>9,} ev/s   "
        f"ratio {result['ratio']:.2f} (goal ≥ 0.33)   audit chain verified: {ok} in {verify_seconds:.1f} s",
        flush=True,
    )
    if result["cpu_ratio"] is not None:
        print(
            f"{'':<10} CPU seconds of this process: ingest {CPU['ingest']:.2f}, raw {CPU['raw']:.2f}, "
            f"ratio {result['cpu_ratio']:.3f}",
            flush=True,
        )
    print(
        f"{'':<10} validation + fingerprint alone {result['parse_events_per_s']:>9,} ev/s; with the raw insert "
        f"(a staging-table bound) ratio {result['staging_bound_ratio']:.2f}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("CLAIMWATCH_MAX_BATCH_EVENTS", str(max(args.batch_size, 1000)))
    pg_url = os.environ.get("CLAIMWATCH_BENCH_PG_URL", DEFAULT_PG)

    started = time.perf_counter()
    lines = generate_lines(args.events)
    print(f"generated {len(lines):,} demo events in {time.perf_counter() - started:.1f} s", flush=True)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [run(kind, lines, args.batch_size, pg_url) for kind in kinds]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ingest-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
