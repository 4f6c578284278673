"""Drawing a stratified 1 % inspection sample from ten million claims, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/inspection_sampling.py [--claims 10000000] [--databases sqlite,postgresql]
                                                  [--pg-url URL] [--runs 5] [--share 0.01] [--baseline-runs 2]
                                                  [--indexes shipped,covering]

Setup (not measured): a fresh database (an SQLite file in a temp dir; a PostgreSQL database created for the
run and dropped after), migrated, one insurer made by ``tenancy.service`` with a head office, 12 provincial
branches and 5 sub-branches each (73 units), then the claims by bulk ``INSERT … SELECT`` over a generated
series in chunks of a million (secondary indexes dropped for the load and built again after, as a bulk load
would): units by a skewed (Zipf-like) share, lines motor 62 %, medical 18 %, accident 9 %, property 7 %,
life 4 % — 360 org × line strata, from about 400 000 claims down to about 400 (at 10 M); twelve months of
reports; rows as wide as real ones (encrypted phone and ID number, phone hash); each claim's ``sample_key``
a uniform random integer in [0, 2**31) as ``cases.models.new_sample_key`` gives it. Then ANALYZE (VACUUM
ANALYZE on PostgreSQL).

Measured, ``--runs`` times with different seeds after one warm-up: the draw as a plan makes it — the
population count per stratum (``inspections.draw.count_strata``), the proportional allocation of 1 % with at
least one case per stratum (``inspections.statistics.allocate``), and the sample (``inspections.draw.draw``)
— each step's time and the total. Baseline, same run, same database: load the population (id, org, line)
into pandas with ``pandas.read_sql`` and sample there, ``df.groupby([org, line]).sample(frac=share)``.
Goal: total ≤ 2 s per draw, and pandas at least 5× slower.

``--indexes``: each phase is measured in turn on the same data — ``shipped``: the schema as migrated;
``covering``: after adding the two covering indexes of :data:`COVERING` (what the draw needs to read only
indexes: the stratum count and the key range then never touch the table). Both phases are reported.
Writes bench/results/inspection_sampling-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import Table, literal, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import bench_databases  # noqa: E402 - the bench folder is on sys.path when run as a script
from claimwatch import db, migrate  # noqa: E402
from claimwatch.cases.models import Claim  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.inspections import draw as sampling  # noqa: E402
from claimwatch.inspections import statistics as inspection_statistics  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402
from claimwatch.tenancy.regions import REGIONS  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
START = dt.datetime(2025, 12, 1, 0, 0, tzinfo=dt.UTC)
SPAN = 365 * 86400
GOAL_SECONDS = 2.0
GOAL_RATIO = 5.0
CHUNK = 1_000_000
BY = ("org_unit_id", "line")
# Indexes that let count_strata and draw read only index pages: the key index extended (it replaces the
# shipped (tenant_id, sample_key), which it serves too) and one for the stratum counts.
COVERING = {
    "ix_claims_tenant_sample_key": "tenant_id, sample_key, id, org_unit_id, line, region_code, assignee_id",
    "ix_claims_tenant_strata": "tenant_id, org_unit_id, line, region_code, sample_key",
}
LINES = (("motor", 62), ("medical", 18), ("accident", 9), ("property", 7), ("life", 4))
BRANCHES = 12
SUB_BRANCHES = 5


def _setup_tenant() -> tuple[int, list[tuple[int, str, float]]]:
    """The insurer and its org tree through the real services; (unit id, region, share of the claims) per
    unit that handles claims: the branches 5 % between them, the sub-branches the rest by a Zipf-like share."""
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code="BIG", name="大保险", actor="bench").id
    branches: list[tuple[int, str]] = []
    subs: list[tuple[int, str]] = []
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        for b in range(BRANCHES):
            region, province = REGIONS[b][0], REGIONS[b][1]
            unit = tenancy_service.add_org_unit(
                session,
                tenant_id=tenant_id,
                code=f"BR{b:02d}",
                name=f"{province}分公司",
                parent_code="BIG-HQ",
                region_code=region,
                actor="bench",
            )
            branches.append((unit.id, region))
            for s in range(SUB_BRANCHES):
                unit = tenancy_service.add_org_unit(
                    session,
                    tenant_id=tenant_id,
                    code=f"BR{b:02d}S{s}",
                    name=f"{province}支公司{s}",
                    parent_code=f"BR{b:02d}",
                    region_code=region,
                    actor="bench",
                )
                subs.append((unit.id, region))
    zipf = [1.0 / (rank + 1) ** 0.8 for rank in range(len(subs))]
    units = [(uid, region, 0.05 / len(branches)) for uid, region in branches]
    units += [(uid, region, 0.95 * w / sum(zipf)) for (uid, region), w in zip(subs, zipf, strict=True)]
    return tenant_id, units


def _slots(weights: list[float], slots: int) -> list[int]:
    """``slots`` equal slots dealt to the items by weight (every item at least one slot)."""
    total = sum(weights)
    counts = [max(1, round(w / total * slots)) for w in weights]
    while sum(counts) > slots:
        counts[counts.index(max(counts))] -= 1
    while sum(counts) < slots:
        counts[counts.index(max(counts))] += 1
    return [item for item, n in enumerate(counts) for _ in range(n)]


def _series(dialect: str, lo: int, hi: int) -> str:
    if dialect == "postgresql":
        return f"SELECT CAST(generate_series({lo}, {hi}) AS BIGINT) AS i"
    return f"WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) SELECT i FROM s"


def _ts(dialect: str, seconds: str) -> str:
    base = START.strftime("%Y-%m-%d %H:%M:%S")
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '{base}+00' + ({seconds}) * INTERVAL '1 second')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', '+' || ({seconds}) || ' seconds') || '.000000')"


def load(dialect: str, claims: int, tenant_id: int, units: list[tuple[int, str, float]]) -> float:
    """The claims by bulk INSERT … SELECT in chunks; returns seconds taken (indexes included)."""
    started = time.perf_counter()
    engine = db.get_engine()
    table = cast(Table, Claim.__table__)
    unit_slots = _slots([w for _, _, w in units], 1000)
    line_slots = _slots([float(share) for _, share in LINES], 100)
    if dialect == "postgresql":
        key = "CAST(floor(random() * 2147483648) AS INTEGER)"
        blob = "md5(CAST(i AS TEXT)) || md5(CAST(i * 7 AS TEXT))"
    else:
        key = "abs(random()) % 2147483648"
        blob = "lower(hex(randomblob(32)))"
    with engine.begin() as conn:
        for index in table.indexes:
            index.drop(conn)
        conn.execute(text("CREATE TABLE bench_units (slot INTEGER PRIMARY KEY, org_unit_id INTEGER, region TEXT)"))
        conn.execute(text("CREATE TABLE bench_lines (slot INTEGER PRIMARY KEY, line TEXT)"))
        conn.execute(
            text("INSERT INTO bench_units VALUES (:slot, :org, :region)"),
            [{"slot": s, "org": units[u][0], "region": units[u][1]} for s, u in enumerate(unit_slots)],
        )
        conn.execute(
            text("INSERT INTO bench_lines VALUES (:slot, :line)"),
            [{"slot": s, "line": LINES[n][0]} for s, n in enumerate(line_slots)],
        )
    reported = _ts(dialect, f"CAST(i AS BIGINT) * {SPAN} / {claims}")
    closed = _ts(dialect, f"CAST(i AS BIGINT) * {SPAN} / {claims} + 86400 * (1 + (i * 7) % 40)")
    for lo in range(1, claims + 1, CHUNK):
        hi = min(claims, lo + CHUNK - 1)
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"""
                INSERT INTO claims (tenant_id, number, org_unit_id, region_code, line, policy_number, claimant_name,
                    claimant_phone_enc, claimant_id_number_enc, claimant_phone_hash, reported_amount_fen, status,
                    assignee_id, reported_at, status_changed_at, closed_at, reopen_count, event_count, created_at,
                    updated_at, sample_key)
                SELECT {tenant_id}, 'BN' || i, u.org_unit_id, u.region, l.line, 'P' || i, '张三',
                    'v1:' || {blob}, 'v1:' || {blob}, {blob}, (i * 7919) % 10000000,
                    CASE WHEN i % 12 = 0 THEN 'assessment' ELSE 'closed' END, NULL,
                    {reported}, {reported}, CASE WHEN i % 12 = 0 THEN NULL ELSE {closed} END, 0, 3,
                    {reported}, {reported}, {key}
                FROM ({_series(dialect, lo, hi)}) AS s
                JOIN bench_units u ON u.slot = (i * 2654435761) % 1000
                JOIN bench_lines l ON l.slot = (i * 40503 + i / 1000) % 100
                """  # noqa: S608 - our own numbers
                )
            )
        print(f"  {hi:,} claims", flush=True)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_units"))
        conn.execute(text("DROP TABLE bench_lines"))
        for index in table.indexes:
            index.create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


def population(tenant_id: int) -> Any:
    """The claim population as a subject kind gives it (POPULATION_COLUMNS), no filter: every claim."""
    return select(
        Claim.id.label("subject_id"),
        Claim.org_unit_id.label("org_unit_id"),
        Claim.line.label("line"),
        Claim.region_code.label("region_code"),
        Claim.assignee_id.label("handler_id"),
        Claim.sample_key.label("sample_key"),
        literal(0).label("score"),
    ).where(Claim.tenant_id == tenant_id)


def draw_once(tenant_id: int, share: float, seed: int) -> dict[str, float]:
    """One plan's draw: count per stratum, allocate, sample. Seconds per step."""
    pop = population(tenant_id)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        t0 = time.perf_counter()
        counts = sampling.count_strata(session, pop, BY)
        t1 = time.perf_counter()
        total = round(sum(counts.values()) * share)
        sizes = inspection_statistics.allocate(counts, total, "proportional")
        t2 = time.perf_counter()
        sample = sampling.draw(session, pop, BY, sizes, seed, counts=counts)
        t3 = time.perf_counter()
    drawn = sum(len(rows) for rows in sample.values())
    assert drawn == total and all(len(sample[k]) == n for k, n in sizes.items()), (drawn, total)
    return {
        "count_s": t1 - t0,
        "allocate_s": t2 - t1,
        "draw_s": t3 - t2,
        "total_s": t3 - t0,
        "strata": len(counts),
        "population": sum(counts.values()),
        "sample": drawn,
    }


def pandas_once(tenant_id: int, share: float, seed: int) -> dict[str, float]:
    """The baseline: the population into pandas, then a stratified sample there."""
    t0 = time.perf_counter()
    with db.get_engine().connect() as conn:
        frame = pd.read_sql(
            text(f"SELECT id, org_unit_id, line FROM claims WHERE tenant_id = {int(tenant_id)}"),  # noqa: S608
            conn,
        )
    t1 = time.perf_counter()
    sample = frame.groupby(["org_unit_id", "line"]).sample(frac=share, random_state=seed)
    t2 = time.perf_counter()
    return {"load_s": t1 - t0, "sample_s": t2 - t1, "total_s": t2 - t0, "rows": len(frame), "sample": len(sample)}


def machine(dialect: str) -> dict[str, object]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()[0].split()[1]
        ram = f"{int(memory) / 2**20:.0f} GiB"
    except OSError:
        ram = "?"
    with db.get_engine().connect() as conn:
        version = conn.execute(text("SELECT version()" if dialect == "postgresql" else "SELECT sqlite_version()"))
        server = str(version.scalar_one()).split(" on ")[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "python": platform.python_version(),
        "database": server,
        "pandas": pd.__version__,
    }


def _summary(runs: list[dict[str, float]], field: str) -> dict[str, float]:
    values = [run[field] for run in runs]
    return {"median": statistics.median(values), "max": max(values)}


def add_covering_indexes(dialect: str) -> float:
    started = time.perf_counter()
    engine = db.get_engine()
    with engine.begin() as conn:
        for name, columns in COVERING.items():
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            conn.execute(text(f"CREATE INDEX {name} ON claims ({columns})"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE claims" if dialect == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


def measure(dialect: str, tenant_id: int, runs: int, baseline_runs: int, share: float) -> dict[str, object]:
    draw_once(tenant_id, share, 0)  # warm-up (and the caches a running system has)
    ours = []
    for seed in range(1, runs + 1):
        result = draw_once(tenant_id, share, seed * 7_777_777)
        ours.append(result)
        print(
            f"  draw seed {seed}: count {result['count_s']:.3f} s + allocate {result['allocate_s']:.3f} s + draw "
            f"{result['draw_s']:.3f} s = {result['total_s']:.3f} s ({result['sample']:,} of "
            f"{result['population']:,}, {result['strata']} strata)",
            flush=True,
        )
    theirs = []
    for seed in range(1, baseline_runs + 1):
        result = pandas_once(tenant_id, share, seed)
        theirs.append(result)
        print(
            f"  pandas run {seed}: read_sql {result['load_s']:.3f} s + groupby().sample {result['sample_s']:.3f} s = "
            f"{result['total_s']:.3f} s ({result['sample']:,} of {result['rows']:,})",
            flush=True,
        )
    total = _summary(ours, "total_s")
    baseline = _summary(theirs, "total_s")
    ratio = baseline["median"] / total["median"]
    ok_time = total["max"] <= GOAL_SECONDS
    ok_ratio = ratio >= GOAL_RATIO
    print(
        f"{dialect}: draw total median {total['median']:.3f} s, max {total['max']:.3f} s "
        f"({'ok' if ok_time else 'SLOW'} against {GOAL_SECONDS:.0f} s); pandas median {baseline['median']:.3f} s; "
        f"pandas / draw = {ratio:.1f}x ({'ok' if ok_ratio else 'SHORT'} against {GOAL_RATIO:.0f}x)",
        flush=True,
    )
    return {
        "draw": {name: _summary(ours, name) for name in ("count_s", "allocate_s", "draw_s", "total_s")},
        "pandas": {name: _summary(theirs, name) for name in ("load_s", "sample_s", "total_s")},
        "strata": ours[0]["strata"],
        "sample": ours[0]["sample"],
        "ratio_pandas_to_draw": ratio,
        "ok": ok_time and ok_ratio,
        "runs_detail": {"draw": ours, "pandas": theirs},
    }


def run(
    dialect: str, url: str, claims: int, runs: int, baseline_runs: int, share: float, phases: list[str]
) -> dict[str, object]:
    db.configure(url)
    migrate.upgrade(url)
    tenant_id, units = _setup_tenant()
    print(f"{dialect}: loading {claims:,} claims", flush=True)
    seconds = load(dialect, claims, tenant_id, units)
    print(f"{dialect}: loaded in {seconds:.0f} s", flush=True)
    report: dict[str, object] = {
        "database": dialect,
        "claims": claims,
        "share": share,
        "runs": runs,
        "load_seconds": seconds,
        "machine": machine(dialect),
        "goal_seconds": GOAL_SECONDS,
        "goal_ratio": GOAL_RATIO,
    }
    for phase in phases:
        if phase == "covering":
            built = add_covering_indexes(dialect)
            print(f"{dialect}: covering indexes built in {built:.0f} s", flush=True)
            report["covering_indexes"] = {"definition": COVERING, "build_seconds": built}
        print(f"{dialect}: indexes {phase}", flush=True)
        report[phase] = measure(dialect, tenant_id, runs, baseline_runs, share)
    db.get_engine().dispose()
    report["ok"] = all(report[phase]["ok"] for phase in phases)  # type: ignore[index]
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=10_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("CLAIMWATCH_TEST_PG_URL", DEFAULT_PG))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--indexes", default="shipped,covering", help="phases, in order: shipped, covering")
    args = parser.parse_args()
    phases = args.indexes.split(",")
    if not set(phases) <= {"shipped", "covering"}:
        parser.error("--indexes: shipped and/or covering")
    RESULTS.mkdir(exist_ok=True)
    failed = False
    for dialect in args.databases.split(","):
        with bench_databases.database(dialect, args.pg_url, "sampling") as url:
            report = run(dialect, url, args.claims, args.runs, args.baseline_runs, args.share, phases)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS / f"inspection_sampling-{dialect}-{stamp}.json").write_text(
            json.dumps(report, indent=2), encoding="utf-8"
        )
        failed = failed or not report["ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
