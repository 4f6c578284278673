"""Process analytics against pm4py, on the same XES, CSV and Parquet files in the same run.

    .venv/bin/python bench/process_mining.py [--events 1000000] [--runs 1] [--skip-generated]
                                             [--formats xes,csv,parquet,interval]

Logs: the largest log in tests/data (teleclaims.xes.gz, 46,138 events) and a generated log of
at least ``--events`` claim status events (the demo generator's claims, written as .xes.gz with our
writer; the writing is not timed). For each log and each side: read the XES file, the directly-follows
graph with performance (count, mean/median/min/max/sum waiting per edge), case durations, variants.
Asserts identical results (counts exact, seconds within 1e-6), prints seconds and pm4py/ours ratios,
writes bench/results/process_mining-*.json. pm4py (AGPL) is a test/bench dependency only.

Each log is also written (not timed) as CSV (ISO 8601 text times) and Parquet (native timestamps),
and as an *interval* CSV (a start per row: the completion minus a made-up service time of 0–4 h).
CSV and Parquet: ours = ``claimwatch.analytics.tabular.read_table`` with a column mapping; pm4py =
its documented way, ``pandas.read_csv`` then ``pm4py.format_dataframe`` (Parquet through DuckDB's
``.df()``, since pandas' Parquet reader needs pyarrow, which is not a dependency). Interval: ours =
read + ``directly_follows`` (interval waiting) + ``service_times`` + case durations; pm4py = read +
``get_dfg_graph(..., start_timestamp_key=…)`` (its interval-based performance DFG) + ``get_service_time``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import polars as pl  # noqa: E402

from claimwatch.analytics import process, service  # noqa: E402
from claimwatch.analytics.log import EventLog  # noqa: E402
from claimwatch.analytics.tabular import ColumnMapping, read_table  # noqa: E402
from claimwatch.analytics.xes import read_xes, write_xes  # noqa: E402
from claimwatch.demo.generator import DemoSpec, iter_claim_events  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TOLERANCE_S = 1e-6
STEPS = ("read", "dfg", "durations", "variants")


def _timed(function: Callable[[], Any], runs: int) -> tuple[Any, float]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


MAPPING = ColumnMapping(case="case", activity="activity", timestamp="timestamp", resource="resource")
INTERVAL_MAPPING = ColumnMapping(case="case", activity="activity", start="start", end="timestamp")


def _our_reader(kind: str) -> Callable[[Path], EventLog]:
    if kind == "xes":
        return read_xes
    return lambda path: read_table(path, INTERVAL_MAPPING if kind == "interval" else MAPPING)


def ours(path: Path, runs: int, kind: str = "xes") -> tuple[dict[str, Any], dict[str, float]]:
    reader = _our_reader(kind)
    log, read_s = _timed(lambda: reader(path), runs)
    dfg, dfg_s = _timed(lambda: process.directly_follows(log), runs)
    durations, durations_s = _timed(lambda: process.case_durations(log)["duration_s"].to_list(), runs)
    variants, variants_s = _timed(lambda: process.variant_counts(log), runs)
    result = {
        "events": log.events,
        "dfg": {(row["src"], row["dst"]): row for row in dfg.to_dicts()},
        "durations": sorted(durations),
        "variants": variants,
        "start": process.start_activities(log),
        "end": process.end_activities(log),
    }
    return result, {"read": read_s, "dfg": dfg_s, "durations": durations_s, "variants": variants_s}


def _pm4py_reader(kind: str) -> Callable[[Path], Any]:
    import pandas as pd
    import pm4py

    names = {"case_id": "case", "activity_key": "activity", "timestamp_key": "timestamp"}
    if kind == "xes":
        return lambda path: pm4py.read_xes(str(path))
    if kind == "csv":
        return lambda path: pm4py.format_dataframe(pd.read_csv(path, dtype={"case": str}), **names)
    if kind == "parquet":
        import duckdb

        return lambda path: pm4py.format_dataframe(duckdb.read_parquet(str(path)).df(), **names)
    return lambda path: pm4py.format_dataframe(
        pd.read_csv(path, dtype={"case": str}), **names, start_timestamp_key="start"
    )


def theirs(path: Path, runs: int, kind: str = "xes") -> tuple[dict[str, Any], dict[str, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        reader = _pm4py_reader(kind)
        frame, read_s = _timed(lambda: reader(path), runs)
        (performance, starts, ends), dfg_s = _timed(lambda: pm4py.discover_performance_dfg(frame), runs)
        frequency = pm4py.discover_dfg(frame)[0]  # counts: not timed (ours are in the same pass)
        durations, durations_s = _timed(lambda: pm4py.get_all_case_durations(frame), runs)
        variants, variants_s = _timed(lambda: pm4py.get_variants(frame), runs)
    result = {
        "events": len(frame),
        "performance": performance,
        "frequency": frequency,
        "durations": sorted(float(value) for value in durations),
        "variants": {tuple(key): int(value) for key, value in variants.items()},
        "start": dict(starts),
        "end": dict(ends),
    }
    return result, {"read": read_s, "dfg": dfg_s, "durations": durations_s, "variants": variants_s}


def _assert_same_dfg(mine: dict[str, Any], pm: dict[str, Any]) -> None:
    assert mine["events"] == pm["events"], (mine["events"], pm["events"])
    assert set(mine["dfg"]) == set(pm["performance"]) == set(pm["frequency"]), "DFG edges differ"
    for edge, values in pm["performance"].items():
        row = mine["dfg"][edge]
        assert row["count"] == pm["frequency"][edge], edge
        for key, column in (("mean", "mean_s"), ("median", "median_s"), ("min", "min_s"), ("max", "max_s")):
            assert abs(row[column] - float(values[key])) <= TOLERANCE_S, (edge, key, row[column], values[key])
        assert abs(row["total_s"] - float(values["sum"])) <= TOLERANCE_S * row["count"], (edge, "sum")


def assert_equal(mine: dict[str, Any], pm: dict[str, Any]) -> None:
    _assert_same_dfg(mine, pm)
    assert len(mine["durations"]) == len(pm["durations"])
    assert all(abs(a - b) <= TOLERANCE_S for a, b in zip(mine["durations"], pm["durations"], strict=True))
    assert mine["variants"] == pm["variants"], "variants differ"
    assert mine["start"] == pm["start"] and mine["end"] == pm["end"], "start/end activities differ"


def generated_log(events: int, directory: Path) -> Path:
    """Demo claims until at least ``events`` status events, written as .xes.gz."""
    claims = max(100, int(events / 8.3))
    while True:
        log = service.log_from_claim_events(iter_claim_events(DemoSpec(claims=claims, seed=17)), name="generated")
        if log.events >= events:
            break
        claims = int(claims * events / max(log.events, 1) * 1.02) + 1
    path = directory / f"generated-{log.events}.xes.gz"
    write_xes(log, path)
    return path


INTERVAL_STEPS = ("read", "dfg", "service", "durations")


def ours_interval(path: Path, runs: int) -> tuple[dict[str, Any], dict[str, float]]:
    log, read_s = _timed(lambda: read_table(path, INTERVAL_MAPPING), runs)
    dfg, dfg_s = _timed(lambda: process.directly_follows(log), runs)
    service_time, service_s = _timed(lambda: process.service_times(log), runs)
    durations, durations_s = _timed(lambda: process.case_durations(log)["duration_s"].to_list(), runs)
    result = {
        "events": log.events,
        "dfg": {(row["src"], row["dst"]): row for row in dfg.to_dicts()},
        "service": {row["activity"]: row["mean_s"] for row in service_time.to_dicts()},
        "durations": durations,
    }
    return result, {"read": read_s, "dfg": dfg_s, "service": service_s, "durations": durations_s}


def theirs_interval(path: Path, runs: int) -> tuple[dict[str, Any], dict[str, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py
        from pm4py.algo.discovery.dfg.adapters.pandas.df_statistics import get_dfg_graph

        reader = _pm4py_reader("interval")
        frame, read_s = _timed(lambda: reader(path), runs)
        keys = {"start_timestamp_key": "start_timestamp", "timestamp_key": "time:timestamp"}
        performance, dfg_s = _timed(
            lambda: get_dfg_graph(frame, measure="performance", perf_aggregation_key="all", **keys), runs
        )
        frequency = get_dfg_graph(frame, measure="frequency", **keys)  # not timed, as above
        service_time, service_s = _timed(
            lambda: pm4py.get_service_time(frame, start_timestamp_key="start_timestamp"), runs
        )
        # pm4py has no interval case duration (get_all_case_durations ignores the start): first start
        # to last end in pandas, timed as its share.
        durations, durations_s = _timed(lambda: _pandas_interval_durations(frame), runs)
    result = {
        "events": len(frame),
        "performance": performance,
        "frequency": frequency,
        "service": service_time,
        "durations": durations,
    }
    return result, {"read": read_s, "dfg": dfg_s, "service": service_s, "durations": durations_s}


def _pandas_interval_durations(frame: Any) -> list[float]:
    grouped = frame.groupby("case:concept:name")
    return (grouped["time:timestamp"].max() - grouped["start_timestamp"].min()).dt.total_seconds().tolist()


def assert_equal_interval(mine: dict[str, Any], pm: dict[str, Any]) -> None:
    _assert_same_dfg(mine, pm)
    assert set(mine["service"]) == set(pm["service"]), "activities differ"
    for activity, mean in pm["service"].items():
        assert abs(mine["service"][activity] - mean) <= TOLERANCE_S, (activity, mean)
    assert len(mine["durations"]) == len(pm["durations"])
    pairs = zip(sorted(mine["durations"]), sorted(pm["durations"]), strict=True)
    assert all(abs(a - b) <= TOLERANCE_S for a, b in pairs), "case durations differ"


def write_tables(log: EventLog, directory: Path) -> dict[str, Path]:
    """The log as CSV, Parquet and interval CSV (not timed)."""
    frame = log.frame.select("case", "activity", "timestamp", "resource")
    stem = (log.name or "log").split(".")[0]
    paths = {kind: directory / f"{stem}.{kind}" for kind in ("csv", "parquet")}
    frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")).write_csv(paths["csv"])
    frame.write_parquet(paths["parquet"])
    service_s = (pl.int_range(pl.len(), dtype=pl.Int64) * 7919 % 14_401).cast(pl.Int64)
    interval = frame.select(
        "case",
        "activity",
        start=(pl.col("timestamp") - pl.duration(seconds=service_s)).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"),
        timestamp=pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"),
    )
    paths["interval"] = directory / f"{stem}.interval.csv"
    interval.write_csv(paths["interval"])
    return paths


def bench(label: str, path: Path, runs: int, kind: str = "xes") -> dict[str, Any]:
    steps = INTERVAL_STEPS if kind == "interval" else STEPS
    if kind == "interval":
        mine, my_times = ours_interval(path, runs)
        pm, pm_times = theirs_interval(path, runs)
        assert_equal_interval(mine, pm)
    else:
        mine, my_times = ours(path, runs, kind)
        pm, pm_times = theirs(path, runs, kind)
        assert_equal(mine, pm)
    my_times["total"] = sum(my_times[step] for step in steps)
    pm_times["total"] = sum(pm_times[step] for step in steps)
    print(
        f"\n{label} [{kind}]: {path.name} ({path.stat().st_size / 1e6:.1f} MB), {mine['events']:,} events, "
        f"{len(mine['durations']):,} cases — results identical"
    )
    print(f"  {'step':<10} {'ours s':>10} {'pm4py s':>10} {'ratio':>8}")
    for step in (*steps, "total"):
        ratio = pm_times[step] / my_times[step] if my_times[step] else float("inf")
        print(f"  {step:<10} {my_times[step]:>10.4f} {pm_times[step]:>10.4f} {ratio:>7.1f}x")
    return {
        "log": path.name,
        "format": kind,
        "events": mine["events"],
        "cases": len(mine["durations"]),
        "ours_s": my_times,
        "pm4py_s": pm_times,
        "ratio": {step: pm_times[step] / my_times[step] for step in (*steps, "total")},
    }


def bench_all(label: str, path: Path, runs: int, formats: list[str], directory: Path) -> list[dict[str, Any]]:
    results = [bench(label, path, runs)] if "xes" in formats else []
    tables = write_tables(read_xes(path), directory)
    for kind in ("csv", "parquet", "interval"):
        if kind in formats:
            results.append(bench(label, tables[kind], runs, kind))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the generated log")
    parser.add_argument("--runs", type=int, default=1, help="runs per step (median)")
    parser.add_argument("--skip-generated", action="store_true")
    parser.add_argument(
        "--formats", default="xes,csv,parquet,interval", help="comma-separated: xes,csv,parquet,interval"
    )
    args = parser.parse_args()
    formats = [kind.strip() for kind in args.formats.split(",") if kind.strip()]

    import pm4py

    with tempfile.TemporaryDirectory() as directory:
        results = bench_all("largest public log", DATA / "teleclaims.xes.gz", args.runs, formats, Path(directory))
        if not args.skip_generated:
            start = time.perf_counter()
            path = generated_log(args.events, Path(directory))
            print(f"\n(generated {path.name} in {time.perf_counter() - start:.1f} s, not timed below)")
            results += bench_all("generated claims log", path, args.runs, formats, Path(directory))
    print("\nend to end (total) ratios, pm4py / ours:")
    for row in results:
        print(f"  {row['log']:<40} {row['format']:<9} {row['events']:>10,} events  {row['ratio']['total']:6.1f}x")
    out = ROOT / "bench" / "results" / f"process_mining-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"pm4py": pm4py.__version__, "runs": args.runs, "logs": results}, indent=1), encoding="utf-8"
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
