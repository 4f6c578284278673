"""Rating runs for 200 insurers × 8 quarters from the KPI snapshot, through claimwatch's own code path.

Setup (not timed): a fresh SQLite database (migrated, N insurers), the shipped methodology loaded as a version,
and a snapshot generated straight into Parquet files of the snapshot's schema: for every insurer and quarter
(2025-Q1 … 2026-Q4) its claims (closed or rejected, cycle times), SLA clocks of both timeliness policies,
materials, surveys, complaints, filings and the complaint exposure (policies and premium per month), each
insurer with its own quality so the scores spread over the grades.

Timed: ``rating.compute_run`` for each of the 8 quarters (the code the API and `claimwatch supervision rate`
run: open the snapshot, one KPI engine call grouped by insurer, scoring, deductions, the previous approved run,
the results written), each approved after it (its ``previous`` then comes from the quarter before); the
approvals (an audit entry and notices per insurer) are timed on their own. Then once more at branch level, and
the yearly run of 2026. The same scoring is timed alone from inputs already in memory.

    .venv/bin/python bench/rating_run.py                    # 200 insurers, 400 claims each per quarter
    .venv/bin/python bench/rating_run.py --insurers 50 --claims 100

Goal: the 8 quarterly runs for 200 insurers ≤ 5 s in total.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

QUARTERS = [f"{year}-Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)]
REGIONS = ["110000", "310000", "440000", "510000"]


def generate(directory: Path, insurers: int, claims: int) -> dict[str, int]:
    """The snapshot's Parquet files, generated in DuckDB (ids 1..insurers are the insurers' tenant ids)."""
    import duckdb

    from claimwatch.kpi.columns import TABLES, open_snapshot

    con = open_snapshot(directory / "none")  # the snapshot schema, empty
    regions = "['" + "', '".join(REGIONS) + "']"
    con.execute(
        f"""
        CREATE TEMP TABLE base AS
        SELECT t.range + 1 AS tenant_id, q.range AS quarter, c.range AS n,
               (t.range + 1) * 1000000 + q.range * 100000 + c.range AS claim_id,
               ((t.range * 37) % 100) / 100.0 AS quality,
               {regions}[1 + (c.range % {len(REGIONS)})] AS region_code,
               TIMESTAMP '2025-01-02 09:00:00' + INTERVAL (q.range * 3) MONTH
                   + INTERVAL (c.range % 80) DAY AS reported_at,
               hash(t.range, q.range, c.range) % 1000 / 1000.0 AS r
        FROM range({insurers}) t, range(8) q, range({claims}) c
        """
    )
    dims = "tenant_id, claim_id, tenant_id * 100 + 1 AS org_unit_id, region_code, 'motor' AS line"
    con.execute(
        f"INSERT INTO tenants SELECT range + 1, 'INS' || (range + 1), '保险公司' || (range + 1) FROM range({insurers})"
    )
    con.execute(
        f"""INSERT INTO claims SELECT {dims},
            CASE WHEN r < 0.85 + 0.15 * quality THEN 'closed' ELSE 'rejected' END, reported_at,
            reported_at + INTERVAL (CAST(3 + 25 * (1 - quality) * (0.5 + r) AS INTEGER)) DAY, false, 'standard',
            false, false, false FROM base"""
    )
    con.execute(
        f"""INSERT INTO clocks SELECT {dims},
            CASE WHEN n % 2 = 0 THEN 'timeliness_small' ELSE 'timeliness_large' END, 'stopped', 'green',
            CASE WHEN r < 0.7 + 0.3 * quality THEN 'met' ELSE 'breached' END, reported_at,
            reported_at + INTERVAL 2 DAY,
            CASE WHEN r < 0.7 + 0.3 * quality THEN NULL ELSE reported_at + INTERVAL 2 DAY END FROM base"""
    )
    con.execute(
        f"""INSERT INTO materials SELECT {dims}, reported_at, 1,
            CASE WHEN r < 0.5 - 0.4 * quality THEN 1 ELSE 0 END, 0 FROM base"""
    )
    con.execute(
        f"""INSERT INTO surveys SELECT {dims}, 'claimant', NULL, 'responded', reported_at, reported_at,
            5 + 4 * quality + (r - 0.5), NULL, NULL, NULL FROM base WHERE n % 3 = 0"""
    )
    con.execute(
        f"""INSERT INTO complaints SELECT {dims}, 'hotline', 'claims', 'delay', 'closed', false, false, true,
            r < 0.8 + 0.2 * quality, reported_at, reported_at + INTERVAL 5 DAY, reported_at + INTERVAL 6 DAY
            FROM base WHERE r < 0.05 * (1.2 - quality)"""
    )
    con.execute(
        f"""INSERT INTO filings SELECT {dims}, 'timeliness_small', reported_at FROM base
            WHERE r < 0.004 * (1 - quality)"""
    )
    con.execute(
        """INSERT INTO complaint_exposure
           SELECT tenant_id, NULL, tenant_id * 100 + 1, region_code, 'motor', date_trunc('month', reported_at),
                  0, count(*)::INTEGER, NULL, NULL FROM claims GROUP BY ALL
           UNION ALL SELECT tenant_id, NULL, tenant_id * 100 + 1, region_code, 'motor',
                  date_trunc('month', received_at), count(*)::INTEGER, 0, NULL, NULL FROM complaints GROUP BY ALL
           UNION ALL SELECT tenant_id, NULL, tenant_id * 100 + 1, region_code, NULL, m, 0, 0,
                  50000 + tenant_id * 100, (50000 + tenant_id * 100) * 300000
           FROM (SELECT DISTINCT tenant_id, region_code, date_trunc('month', reported_at) AS m FROM claims)"""
    )
    rows: dict[str, int] = {}
    for name in TABLES:
        target = str(directory / f"{name}.parquet").replace("'", "''")
        con.execute(f"COPY {name} TO '{target}' (FORMAT PARQUET)")  # noqa: S608
        rows[name] = int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # type: ignore[index]  # noqa: S608
    con.close()
    del duckdb
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--insurers", type=int, default=200)
    parser.add_argument("--claims", type=int, default=400, help="claims per insurer and quarter")
    parser.add_argument("--keep", action="store_true", help="keep the database and snapshot")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cw-bench-rating-"))
    os.environ["CLAIMWATCH_DATABASE_URL"] = f"sqlite:///{root / 'claimwatch.db'}"
    os.environ["CLAIMWATCH_SNAPSHOT_DIR"] = str(root / "snapshot")

    from sqlalchemy import insert

    from claimwatch import db, migrate
    from claimwatch.audit import service as audit_service
    from claimwatch.auth.models import Role
    from claimwatch.auth.principal import Principal
    from claimwatch.config import get_settings
    from claimwatch.db import TenantContext, unit_of_work
    from claimwatch.kpi import service as kpi_service
    from claimwatch.kpi.snapshot import META, database_identity, publish, snapshot_root
    from claimwatch.supervision import methodology, rating, service
    from claimwatch.tenancy.models import Tenant

    get_settings.cache_clear()
    url = os.environ["CLAIMWATCH_DATABASE_URL"]
    migrate.upgrade(url)
    db.configure(url)
    regulator = Principal(role=Role.REGULATOR, tenant_id=None, actor="bench:regulator")
    started = time.perf_counter()
    with unit_of_work(TenantContext.system_context()) as session:
        session.execute(
            insert(Tenant),
            [{"id": i, "code": f"INS{i}", "name": f"保险公司{i}"} for i in range(1, args.insurers + 1)],
        )
        for tenant_id in range(1, args.insurers + 1):
            audit_service.start_chain(session, tenant_id)
        methodology.add_version(session, regulator, methodology.DEFAULT_PATH.read_text(encoding="utf-8"))
    generation = snapshot_root() / "gen-bench"
    generation.mkdir(parents=True)
    rows = generate(generation, args.insurers, args.claims)
    meta = {"taken_at": "2027-01-05T02:00:00+00:00", "rows": rows, "database": database_identity()}
    (generation / META).write_text(json.dumps(meta), encoding="utf-8")
    publish(snapshot_root(), generation)
    print(
        f"setup (not timed) {time.perf_counter() - started:.1f} s: {args.insurers} insurers, "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items() if v),
        flush=True,
    )

    compute_seconds: list[float] = []
    approve_seconds = 0.0
    grades: dict[str, int] = {}
    for period in QUARTERS:
        with unit_of_work(TenantContext.system_context()) as session:
            began = time.perf_counter()
            run = rating.compute_run(session, regulator, period)
            session.flush()
            compute_seconds.append(time.perf_counter() - began)
            run_id = run.id
        with unit_of_work(TenantContext.system_context()) as session:
            began = time.perf_counter()
            service.approve(session, regulator, run_id)
            approve_seconds += time.perf_counter() - began
            results = service.results(session, regulator, run_id)
        for result in results:
            grades[result.grade] = grades.get(result.grade, 0) + 1
        with_previous = sum(1 for r in results if r.previous_score is not None)
        print(
            f"  {period}: {len(results)} rated ({with_previous} with the previous quarter) "
            f"in {compute_seconds[-1] * 1000:.0f} ms",
            flush=True,
        )
    total = sum(compute_seconds)
    print(
        f"8 quarterly runs × {args.insurers} insurers: {total:.2f} s (goal ≤ 5 s: {'met' if total <= 5 else 'NOT met'})"
    )
    print(f"  mean {total / 8 * 1000:.0f} ms per run; approvals (audit + notices per insurer) {approve_seconds:.2f} s")
    print("  grades over the 8 runs: " + ", ".join(f"{g} {n}" for g, n in sorted(grades.items())))

    for period, level in (("2026-Q4", "branch"), ("2026", "insurer")):
        with unit_of_work(TenantContext.system_context()) as session:
            began = time.perf_counter()
            run = rating.compute_run(session, regulator, period, level)
            session.flush()
            elapsed = time.perf_counter() - began
            count = len(service.results(session, regulator, run.id))
        print(f"{period} at {level} level: {count} results in {elapsed * 1000:.0f} ms")

    # The scoring alone, from inputs already read (the pure part every run shares).
    method = methodology.load()
    with kpi_service.opened() as snap:
        began = time.perf_counter()
        inputs = rating.snapshot_inputs(snap, method, rating.parse_period("2026-Q4"))
        read = time.perf_counter() - began
    began = time.perf_counter()
    for _ in range(10):
        rating.score_units(method, inputs)
    scoring = (time.perf_counter() - began) / 10
    print(f"one quarter: KPI engine read {read * 1000:.0f} ms, scoring {scoring * 1000:.1f} ms for {len(inputs)} units")
    if args.keep:
        print(f"kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
