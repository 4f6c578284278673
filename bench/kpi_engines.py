"""The KPI catalogue on DuckDB and on Spark (local[N]) over the same Hive-partitioned snapshot, same run.

The snapshot is bench/dashboard.py's generator (N claims, 12 months, 5 insurers; not timed), rewritten in the
layout `claimwatch kpi snapshot` writes: each fact table partitioned by tenant and month. Then three panels,
each computed by claimwatch's own engine (every available catalogue KPI, one call) on DuckDB and on Spark, and
the values compared (floats to 1e-9):

    .venv/bin/python bench/kpi_engines.py                      # 1 M claims, Spark local[2]
    .venv/bin/python bench/kpi_engines.py --claims 10000000    # the dashboard's 10 M
    .venv/bin/python bench/kpi_engines.py --master spark://host:7077 --snapshot s3a://bucket/gen-…  # a cluster

Spark's session start and the registration of the snapshot's tables are timed on their own: a cluster pays
them once per application, not once per panel. Each panel is timed best of --repeat (DuckDB) and of
--spark-repeat (Spark, whose first run also compiles and warms the JVM; that run is printed too).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from claimwatch.kpi import loader as kpi_loader  # noqa: E402
from claimwatch.kpi import summary as kpi_summary  # noqa: E402
from claimwatch.kpi.columns import TABLES, open_snapshot, relation, write_table  # noqa: E402
from claimwatch.kpi.engine import Period, Result, Scope, compute  # noqa: E402
from dashboard import NOW, generate  # noqa: E402 - bench/dashboard.py's generator, reused


def partition(single: Path, target: Path) -> int:
    """Rewrites a generation of single files in the snapshot's layout (facts by tenant and month)."""
    con = duckdb.connect(":memory:")
    for name in TABLES:
        source = relation(single, name)
        if source is not None:
            write_table(con, f"SELECT * FROM {source}", target, name)
    con.close()
    return sum(1 for _ in target.rglob("*.parquet"))


def table(result: Result) -> dict[tuple[str, str, tuple[str, ...]], tuple[Any, ...]]:
    return {(v.kpi, v.period, v.key): (v.numerator, v.denominator, v.value) for v in result.values}


def same(a: Result, b: Result) -> bool:
    left, right = table(a), table(b)
    if left.keys() != right.keys():
        return False
    for key, values in left.items():
        for x, y in zip(values, right[key], strict=True):
            if (x is None) != (y is None) or (x is not None and not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)):
                return False
    return True


def best(function: Any, repeat: int) -> tuple[float, float, Any]:
    """(first run, best run, result) in seconds."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times[0], min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--snapshot", default=None, help="an existing partitioned generation (skips generating)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark-repeat", type=int, default=2)
    parser.add_argument("--cache", action="store_true", help="Spark: keep the tables in memory after the first read")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    kpis = [k for k in kpi_loader.catalogue() if k.available]
    root = Path(tempfile.mkdtemp(prefix="cw-bench-engines-"))
    location = args.snapshot
    if location is None:
        single, generation = root / "single", root / "gen-bench"
        single.mkdir()
        generation.mkdir()
        print(f"generating {args.claims:,} claims (not timed) ...", flush=True)
        rows = generate(single, args.claims)
        files = partition(single, generation)
        kpi_summary.write(generation, kpis, NOW)
        shutil.rmtree(single)
        size = sum(p.stat().st_size for p in generation.rglob("*.parquet"))
        print(
            f"snapshot: {files} Parquet files, {size / 2**20:.0f} MiB, partitioned by tenant and month: "
            + ", ".join(f"{k} {v:,}" for k, v in rows.items()),
            flush=True,
        )
        location = str(generation)
    period = Period.parse("2026-11")
    panels = [
        ("trends, every KPI x 12 months, 1 insurer", period.trailing(12), Scope(tenant_ids=(1,)), ()),
        ("regulator: trends, every insurer", period.trailing(12), Scope(tenant_ids=None), ()),
        ("regulator: by insurer, 1 month", [period], Scope(tenant_ids=None), ("tenant",)),
    ]
    print(f"\n{len(kpis)} catalogue KPIs; DuckDB {duckdb.__version__}, {os.cpu_count()} cores", flush=True)
    duck_results: dict[str, tuple[float, Result]] = {}
    # Both engines count from the facts: Spark reads no summary, and DuckDB's monthly summary (when the snapshot
    # has one) would turn its panels into a different computation.
    con = open_snapshot(Path(location), summaries=False) if "://" not in location else None
    if con is not None:
        for name, periods, scope, by in panels:
            _, seconds, result = best(lambda p=periods, s=scope, b=by: compute(con, kpis, p, s, b, NOW), args.repeat)
            duck_results[name] = (seconds, result)
            print(f"  DuckDB  {name:<44} {seconds * 1000:9.0f} ms", flush=True)
        con.close()

    from claimwatch.kpi import spark as kpi_spark

    started = time.perf_counter()
    spark = kpi_spark.session(args.master)
    session_s = time.perf_counter() - started
    started = time.perf_counter()
    snap = kpi_spark.SparkSnapshot(spark, location, cache=args.cache)
    views_s = time.perf_counter() - started
    print(
        f"\nSpark {spark.version} {args.master}: session {session_s:.1f} s, tables registered {views_s:.1f} s "
        f"(once per application)",
        flush=True,
    )
    for name, periods, scope, by in panels:
        first, seconds, result = best(
            lambda p=periods, s=scope, b=by: compute(snap, kpis, p, s, b, NOW), args.spark_repeat
        )
        line = f"  Spark   {name:<44} {seconds * 1000:9.0f} ms (first {first * 1000:.0f} ms)"
        if name in duck_results:
            duck_s, duck_result = duck_results[name]
            line += f"  Spark/DuckDB {seconds / duck_s:6.1f}x  values equal: {same(duck_result, result)}"
        print(line, flush=True)
    snap.close()
    spark.stop()
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"kept {root}")


if __name__ == "__main__":
    main()
