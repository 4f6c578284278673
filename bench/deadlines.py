"""Working-day deadlines for a million cases: the vectorised calendar against a per-row loop and numpy.

    .venv/bin/python bench/deadlines.py [--n 1000000] [--loop-sample 50000] [--repeat 7]

Start instants are spread uniformly over 2024-01-01..2026-10-31 (Asia/Shanghai); each case gets N
working days, once a fixed 7 (the large-claim target) and once a mix of 1..14. Per scenario:

(a) ``WorkCalendar.add_working_days_vec`` over ``datetime64[D]`` start dates, and the full deadline
    path an SLA clock takes, vectorised over timestamps: ``WorkingDayAxis.anchor`` → ``value`` →
    ``+ budget`` → ``instant`` → ``finalize`` (the end of the local day of the deadline);
(b) the naive per-row loop a developer would write with ``chinese_calendar.is_workday``, stepping day
    by day. It is timed on the first ``--loop-sample`` rows and scaled linearly to N (said so in the
    output); ``--loop-sample 0`` runs it on every row;
(c) ``numpy.busday_offset`` with weekmask '1111111', ``holidays=calendar.holiday_list()`` (every
    non-working day) and ``roll='backward'``: numpy's C loop, the practical limit.

(a), (b) and (c) must give identical deadlines on the loop sample, and (a) and (c) on all N rows,
or the script exits with status 1. Vectorised and numpy timings are the best of ``--repeat`` runs
after one warm-up (the median is printed too). Writes bench/results/deadlines-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch.calendar.service import builtin_years  # noqa: E402
from claimwatch.calendar.workdays import DAY, WorkCalendar, WorkingDayAxis  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TZ = ZoneInfo("Asia/Shanghai")
FIRST = dt.date(2024, 1, 1)
LAST = dt.date(2026, 10, 31)
ONE_DAY = dt.timedelta(days=1)


def naive_deadline(start: dt.date, count: int) -> dt.date:
    """The count-th working day after ``start`` (start day not counted), one day at a time."""
    day = start
    while count:
        day += ONE_DAY
        if chinese_calendar.is_workday(day):
            count -= 1
    return day


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[np.ndarray, float, float]:
    """Result of ``fn`` and its best and median wall time over ``repeat`` runs after a warm-up."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, min(times), statistics.median(times)


def scenario(
    name: str,
    calendar: WorkCalendar,
    axis: WorkingDayAxis,
    ts: np.ndarray,
    counts: np.ndarray,
    loop_sample: int,
    repeat: int,
) -> tuple[dict[str, object], bool]:
    n = len(ts)
    # The local calendar date of each start instant (what a clock started at ts counts from).
    day_index, _ = axis.local_day_and_second(ts)
    days = np.datetime64(calendar.origin, "D") + day_index
    holidays = calendar.holiday_list()

    vec, vec_best, vec_median = timed(lambda: calendar.add_working_days_vec(days, counts), repeat)

    def full_path() -> np.ndarray:
        start = axis.value(axis.anchor(ts))
        return axis.finalize(axis.instant(start + counts * DAY))

    due_ts, axis_best, axis_median = timed(full_path, repeat)
    # The deadline is the end (next local midnight) of the deadline's day.
    axis_days = np.datetime64(calendar.origin, "D") + (np.round((due_ts - axis.origin_ts) / DAY).astype(np.int64) - 1)

    busday, np_best, np_median = timed(
        lambda: np.busday_offset(days, counts, roll="backward", weekmask="1111111", holidays=holidays), repeat
    )

    sample = n if loop_sample <= 0 else min(loop_sample, n)
    sample_days = days[:sample].astype(dt.date).tolist()
    sample_counts = counts[:sample].tolist()
    started = time.perf_counter()
    looped = [naive_deadline(day, count) for day, count in zip(sample_days, sample_counts, strict=True)]
    loop_sample_time = time.perf_counter() - started
    loop_time = loop_sample_time * n / sample
    looped_arr = np.array(looped, dtype="datetime64[D]")

    checks = {
        "vectorised == loop (sample)": bool((vec[:sample] == looped_arr).all()),
        "numpy == loop (sample)": bool((busday[:sample] == looped_arr).all()),
        "axis path == loop (sample)": bool((axis_days[:sample] == looped_arr).all()),
        "vectorised == numpy (all rows)": bool((vec == busday).all()),
        "axis path == vectorised (all rows)": bool((axis_days == vec).all()),
    }
    ok = all(checks.values())

    started = time.perf_counter()
    for day, count in zip(sample_days, sample_counts, strict=True):
        calendar.add_working_days(day, count)
    scalar_time = (time.perf_counter() - started) * n / sample

    scaled = "" if sample == n else f"  [timed on {sample:,} rows, scaled ×{n / sample:g}]"

    def line(label: str, seconds: float, extra: str = "") -> None:
        shown = f"{seconds * 1e3:9.1f} ms" if seconds < 10 else f"{seconds:9.2f} s "
        print(f"  {label:<50} {shown} {n / seconds:>14,.0f} rows/s{extra}")

    print(f"\n[{name}] {n:,} cases, start dates {FIRST}..{LAST}", flush=True)
    line("(a) WorkCalendar.add_working_days_vec", vec_best, f"   (median {vec_median * 1e3:.1f} ms)")
    line("(a) WorkingDayAxis: anchor→value→instant→finalize", axis_best, f"   (median {axis_median * 1e3:.1f} ms)")
    line("(b) loop: chinese_calendar.is_workday day by day", loop_time, scaled)
    line("    loop: WorkCalendar.add_working_days (scalar)", scalar_time, scaled)
    line("(c) numpy.busday_offset (weekmask 1111111)", np_best, f"   (median {np_median * 1e3:.1f} ms)")
    vs_loop = loop_time / vec_best
    vs_numpy = np_best / vec_best
    print(f"  vectorised vs loop:  {vs_loop:,.0f}× faster (goal ≥ 20×): {'met' if vs_loop >= 20 else 'NOT MET'}")
    print(
        f"  vectorised vs numpy: numpy_time / vec_time = {vs_numpy:.2f} (goal ≥ 0.33, within 3×): "
        f"{'met' if vs_numpy >= 1 / 3 else 'NOT MET'}"
    )
    print(
        f"  full axis path:      {loop_time / axis_best:,.0f}× faster than the loop; "
        f"numpy_time / axis_time = {np_best / axis_best:.2f}"
    )
    for what, good in checks.items():
        print(f"  check {what}: {'identical' if good else 'MISMATCH'}")
    if not ok:
        differ = (vec != busday) | (axis_days != vec)
        differ[:sample] |= (vec[:sample] != looped_arr) | (busday[:sample] != looped_arr)
        for i in np.flatnonzero(differ)[:5]:
            loop_text = looped_arr[i] if i < sample else "-"
            print(
                f"    row {i}: start {days[i]} +{counts[i]}: vectorised {vec[i]} numpy {busday[i]} "
                f"axis {axis_days[i]} loop {loop_text}"
            )
    result = {
        "scenario": name,
        "rows": n,
        "vectorised_ms": round(vec_best * 1e3, 2),
        "vectorised_rows_per_s": round(n / vec_best),
        "axis_path_ms": round(axis_best * 1e3, 2),
        "axis_path_rows_per_s": round(n / axis_best),
        "loop_s": round(loop_time, 2),
        "loop_rows_per_s": round(n / loop_time),
        "loop_sample_rows": sample,
        "scalar_loop_s": round(scalar_time, 2),
        "numpy_ms": round(np_best * 1e3, 2),
        "numpy_rows_per_s": round(n / np_best),
        "vectorised_vs_loop": round(vs_loop, 1),
        "numpy_time_over_vectorised_time": round(vs_numpy, 2),
        "identical": ok,
    }
    return result, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="cases (default 1 000 000)")
    parser.add_argument("--loop-sample", type=int, default=50_000, help="rows the Python loop runs on; 0 = all")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of the vectorised paths (best is kept)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    started = time.perf_counter()
    calendar = WorkCalendar(builtin_years())
    axis = WorkingDayAxis(calendar, TZ)
    print(
        f"calendar {calendar.first_year}-{calendar.last_year} from chinese-calendar {chinese_calendar.__version__}: "
        f"{len(calendar.holiday_list()):,} non-working days, built in {(time.perf_counter() - started) * 1e3:.0f} ms; "
        f"numpy {np.__version__}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rng = np.random.default_rng(args.seed)
    first_ts = dt.datetime.combine(FIRST, dt.time(), TZ).timestamp()
    end_ts = dt.datetime.combine(LAST + ONE_DAY, dt.time(), TZ).timestamp()
    # Whole seconds, as stored timestamps are; uniformly over the local days of the range.
    ts = np.floor(rng.uniform(first_ts, end_ts, args.n))
    scenarios = {
        "7 working days": np.full(args.n, 7, dtype=np.int64),
        "mix of 1..14 working days": rng.integers(1, 15, args.n, dtype=np.int64),
    }
    results = []
    all_ok = True
    for name, counts in scenarios.items():
        result, ok = scenario(name, calendar, axis, ts, counts, args.loop_sample, args.repeat)
        results.append(result)
        all_ok &= ok
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"deadlines-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")
    if not all_ok:
        print("FAILED: the three methods disagree", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
