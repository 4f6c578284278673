"""Events/s for ONE tenant with 1, 2, … concurrent writers on PostgreSQL, in one run.

    .venv/bin/python bench/ingest_writers.py [--events 60000] [--writers 1,2] [--batch-size 1000]
                                             [--mode blocks|serial|both]

Each writer is a process doing what an API worker does for ``POST /api/v1/events`` (minus HTTP): parse the
JSON lines into ``EventIn`` and call ``ingest_events`` batch by batch, one committed transaction per batch. The
demo stream of one insurer is split by claim number (a claim's events stay in order, in one writer). Every run
starts from a new database; the audit chain is linked and verified at the end (``audit verify`` must pass).

``--mode serial`` forces the old design (every batch takes the tenant's chain head ``FOR UPDATE``:
``CLAIMWATCH_AUDIT_CONCURRENT_INGEST=false``), ``blocks`` the new one (sequence blocks under a shared lock,
linked later), ``both`` measures both in the same run; the ratio is writers-N ÷ writers-1 of the same mode.
PostgreSQL: CLAIMWATCH_BENCH_PG_URL (default: the local server `make test` starts).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import multiprocessing
import os
import sys
import time
import zlib
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_databases import database  # noqa: E402
from claimwatch import db  # noqa: E402
from claimwatch.audit import service as audit_service  # noqa: E402
from claimwatch.cases import service as cases_service  # noqa: E402
from claimwatch.cases.schemas import EventIn  # noqa: E402
from claimwatch.config import get_settings  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.imports.service import integration_principal  # noqa: E402
from ingest import generate_lines, prepare  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"


def split(lines: list[bytes], writers: int, batch_size: int) -> list[list[list[bytes]]]:
    """Per writer, its batches: claims spread by a hash of their number (a claim's events in one writer, in order)."""
    streams: list[list[bytes]] = [[] for _ in range(writers)]
    for line in lines:
        number = json.loads(line)["claim_number"]
        streams[zlib.crc32(number.encode()) % writers].append(line)
    return [[stream[i : i + batch_size] for i in range(0, len(stream), batch_size)] for stream in streams]


def _writer(url: str, tenant_id: int, batches: list[list[bytes]], concurrent: bool, start, out) -> None:  # noqa: ANN001
    os.environ["CLAIMWATCH_AUDIT_CONCURRENT_INGEST"] = "true" if concurrent else "false"
    get_settings.cache_clear()
    db.configure(url)
    principal = integration_principal(tenant_id, "bench")
    context = TenantContext.for_tenant(tenant_id)
    parsed = [[EventIn.model_validate_json(line) for line in batch] for batch in batches]
    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    retries = 0
    for events in parsed:
        while True:
            try:
                with unit_of_work(context) as session:
                    cases_service.ingest_events(session, principal, events)
                break
            except cases_service.IngestRejected as exc:  # a concurrent writer took a claim's row: send it again
                if exc.status != 503:
                    raise
                retries += 1
    out.put((time.perf_counter() - began, sum(len(b) for b in batches), retries, time.process_time() - cpu))
    db.get_engine().dispose()


def _sample_waits(url: str, out, writers: int) -> tuple[int, int]:  # noqa: ANN001
    """Until the first writer is done: every 50 ms, how many of the bench database's sessions wait for a lock
    (pg_stat_activity). Separates waiting for another writer from waiting for a CPU on a loaded machine."""
    import psycopg

    samples = waits = 0
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        while out.empty():
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state <> 'idle')"
                " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchone()
            samples += 1
            waits += row[0] if row else 0
            time.sleep(0.05)
    return samples, waits


def run(url_factory, lines: list[bytes], writers: int, batch_size: int, concurrent: bool) -> dict:  # noqa: ANN001
    with url_factory() as url:
        tenant_id = prepare(url)
        db.get_engine().dispose()
        ctx = multiprocessing.get_context("fork")
        start, out = ctx.Barrier(writers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_writer, args=(url, tenant_id, batches, concurrent, start, out))
            for batches in split(lines, writers, batch_size)
        ]
        for proc in procs:
            proc.start()
        start.wait()
        began = time.perf_counter()
        samples, lock_waits = _sample_waits(url, out, len(procs))
        results = [out.get() for _ in procs]
        wall = time.perf_counter() - began
        for proc in procs:
            proc.join()
            assert proc.exitcode == 0, proc.exitcode
        db.configure(url)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            linked = audit_service.link(session, tenant_id)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            report = audit_service.verify(session, tenant_id)
            voids = session.execute(
                text("SELECT count(*) FROM audit_entries WHERE tenant_id = :t AND kind = :k"),
                {"t": tenant_id, "k": audit_service.VOID_KIND},
            ).scalar_one()
        db.get_engine().dispose()
    events = sum(r[1] for r in results)
    return {
        "mode": "blocks" if concurrent else "serial",
        "writers": writers,
        "events": events,
        "seconds": round(wall, 2),
        "events_per_s": round(events / wall),
        "retries": sum(r[2] for r in results),
        # the writers' own CPU seconds per wall second (their PostgreSQL backends not counted): 1.0 per writer
        # would be a core each; less, with nobody waiting for a lock, is a machine short of cores
        "writer_cpu_per_s": round(sum(r[3] for r in results) / wall, 2),
        # sessions waiting for a lock, averaged over samples (0 = never; 1 = one writer always waiting)
        "lock_waiting": round(lock_waits / max(samples, 1), 2),
        "linked_at_end": linked,
        "void_entries": voids,
        "audit_verified": report.ok,
        "problems": [str(p) for p in report.problems[:3]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--writers", default="1,2")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--mode", choices=("blocks", "serial", "both"), default="both")
    args = parser.parse_args()
    os.environ.setdefault("CLAIMWATCH_MAX_BATCH_EVENTS", str(max(args.batch_size, 1000)))
    pg_url = os.environ.get("CLAIMWATCH_BENCH_PG_URL", DEFAULT_PG)
    lines = generate_lines(args.events)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {len(lines):,} events of one tenant", flush=True)
    modes = (False, True) if args.mode == "both" else (args.mode == "blocks",)
    results = []
    for concurrent in modes:
        base: dict[int, float] = collections.OrderedDict()
        for writers in (int(w) for w in args.writers.split(",")):
            result = run(lambda: database("postgresql", pg_url, "writers"), lines, writers, args.batch_size, concurrent)
            base.setdefault(1, result["events_per_s"]) if writers == 1 else None
            result["ratio_vs_1_writer"] = round(result["events_per_s"] / base[1], 2) if 1 in base else None
            results.append(result)
            print(
                f"{result['mode']:<7} writers {writers}: {result['events_per_s']:>7,} ev/s "
                f"({result['seconds']} s, ×{result['ratio_vs_1_writer']} of 1 writer; retries {result['retries']}, "
                f"void entries {result['void_entries']}, sessions waiting on a lock {result['lock_waiting']}, "
                f"writers' CPU s per s {result['writer_cpu_per_s']})  "
                f"audit verified: {result['audit_verified']} "
                f"{'; '.join(result['problems'])}",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ingest-writers-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
