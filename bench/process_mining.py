"""Process analytics against pm4py, on the same XES files in the same run.

    .venv/bin/python bench/process_mining.py [--events 1000000] [--runs 1] [--skip-generated]

Logs: the largest log in tests/data (teleclaims.xes.gz, 46,138 events) and a generated log of
at least ``--events`` claim status events (the demo generator's claims, written as .xes.gz with our
writer; the writing is not timed). For each log and each side: read the XES file, the directly-follows
graph with performance (count, mean/median/min/max/sum waiting per edge), case durations, variants.
Asserts identical results (counts exact, seconds within 1e-6), prints seconds and pm4py/ours ratios,
writes bench/results/process_mining-*.json. pm4py (AGPL) is a test/bench dependency only.
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

from claimwatch.analytics import process, service  # noqa: E402
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


def ours(path: Path, runs: int) -> tuple[dict[str, Any], dict[str, float]]:
    log, read_s = _timed(lambda: read_xes(path), runs)
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


def theirs(path: Path, runs: int) -> tuple[dict[str, Any], dict[str, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        frame, read_s = _timed(lambda: pm4py.read_xes(str(path)), runs)
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


def assert_equal(mine: dict[str, Any], pm: dict[str, Any]) -> None:
    assert mine["events"] == pm["events"], (mine["events"], pm["events"])
    assert set(mine["dfg"]) == set(pm["performance"]) == set(pm["frequency"]), "DFG edges differ"
    for edge, values in pm["performance"].items():
        row = mine["dfg"][edge]
        assert row["count"] == pm["frequency"][edge], edge
        for key, column in (("mean", "mean_s"), ("median", "median_s"), ("min", "min_s"), ("max", "max_s")):
            assert abs(row[column] - float(values[key])) <= TOLERANCE_S, (edge, key, row[column], values[key])
        assert abs(row["total_s"] - float(values["sum"])) <= TOLERANCE_S * row["count"], (edge, "sum")
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


def bench(label: str, path: Path, runs: int) -> dict[str, Any]:
    mine, my_times = ours(path, runs)
    pm, pm_times = theirs(path, runs)
    assert_equal(mine, pm)
    my_times["total"] = sum(my_times[step] for step in STEPS)
    pm_times["total"] = sum(pm_times[step] for step in STEPS)
    print(f"\n{label}: {path.name}, {mine['events']:,} events, {len(mine['durations']):,} cases — results identical")
    print(f"  {'step':<10} {'ours s':>10} {'pm4py s':>10} {'ratio':>8}")
    for step in (*STEPS, "total"):
        ratio = pm_times[step] / my_times[step] if my_times[step] else float("inf")
        print(f"  {step:<10} {my_times[step]:>10.4f} {pm_times[step]:>10.4f} {ratio:>7.1f}x")
    return {
        "log": path.name,
        "events": mine["events"],
        "cases": len(mine["durations"]),
        "ours_s": my_times,
        "pm4py_s": pm_times,
        "ratio": {step: pm_times[step] / my_times[step] for step in (*STEPS, "total")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the generated log")
    parser.add_argument("--runs", type=int, default=1, help="runs per step (median)")
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()

    import pm4py

    results = [bench("largest public log", DATA / "teleclaims.xes.gz", args.runs)]
    if not args.skip_generated:
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            path = generated_log(args.events, Path(directory))
            print(f"\n(generated {path.name} in {time.perf_counter() - start:.1f} s, not timed below)")
            results.append(bench("generated claims log", path, args.runs))
    out = ROOT / "bench" / "results" / f"process_mining-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"pm4py": pm4py.__version__, "runs": args.runs, "logs": results}, indent=1), encoding="utf-8"
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
