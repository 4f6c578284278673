"""Process-mining computations on an :class:`~claimwatch.analytics.log.EventLog`.

Semantics are pm4py's (and the test suite checks them against pm4py on real logs): the activity is
``concept:name`` with the lifecycle ignored, events are ordered by (case, timestamp) with ties in
source order, the waiting time of an edge a→b is ``timestamp(b) − timestamp(a)`` of consecutive
events of a case, a case lasts from its first to its last event, and a variant is the activity
sequence of a case. Times are float seconds.

On an interval log (a start and a completion per row, :attr:`EventLog.interval`) the semantics are
pm4py's interval-based performance DFG: rows ordered by (case, start, completion), the waiting time of
an edge a→b is ``max(start(b), end(a)) − end(a)`` (zero when b started before a ended), the service
time of an activity is ``end − start`` (:func:`service_times`), and a case lasts from its first start
to its last completion.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from claimwatch.analytics.log import EventLog

_SEP = "\x1f"  # cannot occur in XML text, so it separates activities of a variant unambiguously
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
# Histogram edges (seconds) that read naturally from a call-centre minute to a year-long claim.
DURATION_EDGES: tuple[float, ...] = (
    0.0,
    _MINUTE,
    10 * _MINUTE,
    _HOUR,
    4 * _HOUR,
    _DAY,
    2 * _DAY,
    3 * _DAY,
    7 * _DAY,
    14 * _DAY,
    30 * _DAY,
    60 * _DAY,
    90 * _DAY,
    180 * _DAY,
    365 * _DAY,
)


def _seconds(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / 1_000_000.0


def pairs(log: EventLog) -> pl.DataFrame:
    """Every directly-follows pair: src, dst, wait_s (one row per consecutive pair of a case). On an
    interval log the wait runs from a's completion to b's start, never below zero."""
    frame = log.frame
    end = pl.col("timestamp")
    following = pl.max_horizontal(pl.col("start").shift(-1), end) if log.interval else end.shift(-1)
    return (
        frame.select(
            src=pl.col("activity"),
            dst=pl.col("activity").shift(-1),
            wait_s=_seconds(following - end),
            same=pl.col("case") == pl.col("case").shift(-1),
        )
        .filter(pl.col("same"))
        .drop("same")
    )


def directly_follows(log: EventLog, pair_frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """The directly-follows graph with performance: src, dst, count, mean_s, median_s, min_s, max_s,
    total_s; most frequent first, ties by (src, dst)."""
    pair_frame = pairs(log) if pair_frame is None else pair_frame
    return (
        pair_frame.group_by("src", "dst")
        .agg(
            count=pl.len(),
            mean_s=pl.col("wait_s").mean(),
            median_s=pl.col("wait_s").median(),
            min_s=pl.col("wait_s").min(),
            max_s=pl.col("wait_s").max(),
            total_s=pl.col("wait_s").sum(),
        )
        .sort(["count", "src", "dst"], descending=[True, False, False])
    )


def case_durations(log: EventLog) -> pl.DataFrame:
    """One row per case: case, start, end, duration_s, events (cases in first-appearance order); an
    interval log's case runs from its first start to its last completion."""
    first, last = (
        (pl.col("start").first(), pl.col("timestamp").max())
        if log.interval
        else (
            pl.col("timestamp").first(),
            pl.col("timestamp").last(),
        )
    )
    return (
        log.frame.group_by("case", maintain_order=True)
        .agg(start=first, end=last, events=pl.len())
        .with_columns(duration_s=_seconds(pl.col("end") - pl.col("start")))
    )


def duration_stats(log: EventLog, durations: pl.DataFrame | None = None) -> dict[str, float | int]:
    """cases, mean, median, min, max, sum, p90, p95 of the case durations (seconds)."""
    durations = case_durations(log) if durations is None else durations
    if durations.height == 0:
        return {"cases": 0, "mean": 0.0, "median": 0.0, "min": 0.0, "max": 0.0, "sum": 0.0, "p90": 0.0, "p95": 0.0}
    row = durations.select(
        mean=pl.col("duration_s").mean(),
        median=pl.col("duration_s").median(),
        min=pl.col("duration_s").min(),
        max=pl.col("duration_s").max(),
        sum=pl.col("duration_s").sum(),
        p90=pl.col("duration_s").quantile(0.9, "linear"),
        p95=pl.col("duration_s").quantile(0.95, "linear"),
    ).row(0, named=True)
    return {"cases": durations.height, **{key: float(value) for key, value in row.items()}}


def duration_histogram(log: EventLog, durations: pl.DataFrame | None = None) -> list[dict[str, Any]]:
    """Cases per duration bucket [lower, upper), from the first to the last non-empty bucket."""
    durations = case_durations(log) if durations is None else durations
    if durations.height == 0:
        return []
    edges = list(DURATION_EDGES)
    index = np.searchsorted(np.asarray(edges), durations["duration_s"].to_numpy(), side="right") - 1
    counts = np.bincount(np.clip(index, 0, None), minlength=len(edges)).tolist()
    used = [i for i, count in enumerate(counts) if count]
    return [
        {
            "label": _bucket_label(edges[i], edges[i + 1] if i + 1 < len(edges) else math.inf),
            "lower_s": edges[i],
            "upper_s": edges[i + 1] if i + 1 < len(edges) else None,
            "cases": counts[i],
        }
        for i in range(used[0], used[-1] + 1)
    ]


def _human(seconds: float) -> str:
    if seconds >= _DAY:
        return f"{seconds / _DAY:g}d"
    if seconds >= _HOUR:
        return f"{seconds / _HOUR:g}h"
    if seconds >= _MINUTE:
        return f"{seconds / _MINUTE:g}min"
    return f"{seconds:g}s"


def _bucket_label(lower: float, upper: float) -> str:
    return f"≥ {_human(lower)}" if math.isinf(upper) else f"{_human(lower)}–{_human(upper)}"


def start_activities(log: EventLog) -> dict[str, int]:
    return _tally(log.frame.group_by("case", maintain_order=True).agg(pl.col("activity").first())["activity"])


def end_activities(log: EventLog) -> dict[str, int]:
    return _tally(log.frame.group_by("case", maintain_order=True).agg(pl.col("activity").last())["activity"])


def _tally(series: pl.Series) -> dict[str, int]:
    counted = series.value_counts(name="count").sort(["count", series.name], descending=[True, False])
    return {str(name): int(count) for name, count in counted.iter_rows()}


def variants(log: EventLog) -> pl.DataFrame:
    """variant (list of activities), count, share; most frequent first, ties in sequence order."""
    cases = log.frame.group_by("case", maintain_order=True).agg(key=pl.col("activity").str.join(_SEP))
    total = max(cases.height, 1)
    return (
        cases.group_by("key")
        .agg(count=pl.len())
        .sort(["count", "key"], descending=[True, False])
        .select(
            variant=pl.col("key").str.split(_SEP),
            count=pl.col("count"),
            share=pl.col("count") / total,
        )
    )


def variant_counts(log: EventLog) -> dict[tuple[str, ...], int]:
    """{activity sequence: cases}, like pm4py's ``get_variants`` (grouped on integer activity codes)."""
    names = log.frame["activity"].unique(maintain_order=True)
    codes = log.frame.select(pl.col("case"), code=pl.col("activity").cast(pl.Enum(names)).to_physical())
    counted = codes.group_by("case", maintain_order=True).agg("code").group_by("code").agg(count=pl.len())
    lookup = names.to_list()
    return {tuple(lookup[code] for code in sequence): int(count) for sequence, count in counted.iter_rows()}


def step_waiting(log: EventLog, pair_frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """Waiting time per step: for each activity, the time since the previous event of the same case
    (count, mean_s, median_s, p90_s, max_s, total_s); longest mean first."""
    pair_frame = pairs(log) if pair_frame is None else pair_frame
    return (
        pair_frame.group_by(pl.col("dst").alias("activity"))
        .agg(
            count=pl.len(),
            mean_s=pl.col("wait_s").mean(),
            median_s=pl.col("wait_s").median(),
            p90_s=pl.col("wait_s").quantile(0.9, "linear"),
            max_s=pl.col("wait_s").max(),
            total_s=pl.col("wait_s").sum(),
        )
        .sort(["mean_s", "activity"], descending=[True, False])
    )


def service_times(log: EventLog) -> pl.DataFrame:
    """Service time per activity of an interval log (completion − start of each instance): activity,
    count, mean_s, median_s, min_s, max_s, total_s; longest mean first. Empty for a log without starts
    (every activity is then instantaneous)."""
    if not log.interval:
        return pl.DataFrame(
            schema={"activity": pl.String, "count": pl.UInt32, **dict.fromkeys(_SERVICE_COLUMNS, pl.Float64)}
        )
    return (
        log.frame.select("activity", service_s=_seconds(pl.col("timestamp") - pl.col("start")))
        .group_by("activity")
        .agg(
            count=pl.len(),
            mean_s=pl.col("service_s").mean(),
            median_s=pl.col("service_s").median(),
            min_s=pl.col("service_s").min(),
            max_s=pl.col("service_s").max(),
            total_s=pl.col("service_s").sum(),
        )
        .sort(["mean_s", "activity"], descending=[True, False])
    )


_SERVICE_COLUMNS = ("mean_s", "median_s", "min_s", "max_s", "total_s")


def bottlenecks(log: EventLog, top: int = 10, by: str = "total", dfg: pl.DataFrame | None = None) -> pl.DataFrame:
    """Edges ranked by the waiting they cause: ``by="total"`` ranks by mean × frequency (= total
    waiting), ``"median"`` by median × frequency, ``"mean"`` by the mean alone. Adds the edge's share
    of all waiting time in the log."""
    dfg = directly_follows(log) if dfg is None else dfg
    key = {"total": "total_s", "median": "median_x_count_s", "mean": "mean_s"}.get(by)
    if key is None:
        raise ValueError(f"rank bottlenecks by total, median or mean, not {by!r}")
    all_wait = float(dfg["total_s"].sum() or 0.0)
    ranked = dfg.with_columns(
        median_x_count_s=pl.col("median_s") * pl.col("count"),
        share=(pl.col("total_s") / all_wait) if all_wait else pl.lit(0.0),
    ).sort([key, "src", "dst"], descending=[True, False, False])
    return ranked.head(top)


def rework(log: EventLog) -> pl.DataFrame:
    """Activities repeated within a case (a loop back, e.g. materials requested again, a reopening):
    activity, cases (that have it), rework_cases (that have it more than once), extra (repeats beyond
    the first), rate (rework_cases / cases); most rework first. On logs with start/complete events only
    ``complete`` (or lifecycle-less) events are counted, so a start/complete pair is not a repeat."""
    frame = log.frame
    if frame.select((pl.col("lifecycle").str.to_lowercase() == "complete").any()).item():
        frame = frame.filter(pl.col("lifecycle").is_null() | (pl.col("lifecycle").str.to_lowercase() == "complete"))
    per_case = frame.group_by("case", "activity").agg(n=pl.len())
    return (
        per_case.group_by("activity")
        .agg(
            cases=pl.len(),
            rework_cases=(pl.col("n") > 1).sum(),
            extra=(pl.col("n") - 1).sum(),
        )
        .with_columns(rate=pl.col("rework_cases") / pl.col("cases"))
        .filter(pl.col("rework_cases") > 0)
        .sort(["rework_cases", "extra", "activity"], descending=[True, True, False])
    )


def rework_cases(log: EventLog) -> int:
    """How many cases repeat at least one activity (same lifecycle rule as :func:`rework`)."""
    frame = log.frame
    if frame.select((pl.col("lifecycle").str.to_lowercase() == "complete").any()).item():
        frame = frame.filter(pl.col("lifecycle").is_null() | (pl.col("lifecycle").str.to_lowercase() == "complete"))
    repeated = frame.group_by("case", "activity").agg(n=pl.len()).filter(pl.col("n") > 1)
    return int(repeated["case"].n_unique()) if repeated.height else 0


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def process_report(log: EventLog, *, top_variants: int = 10, top_bottlenecks: int = 10) -> dict[str, Any]:
    """Everything the process page and API show, JSON-ready."""
    pair_frame = pairs(log)
    dfg = directly_follows(log, pair_frame)
    durations = case_durations(log)
    variant_frame = variants(log)
    return {
        "events": log.events,
        "cases": durations.height,
        "interval": log.interval,
        "activities": log.activities,
        "case_duration_s": duration_stats(log, durations),
        "duration_histogram": duration_histogram(log, durations),
        "start_activities": start_activities(log),
        "end_activities": end_activities(log),
        "dfg": _records(dfg),
        "variant_count": variant_frame.height,
        "variants": _records(variant_frame.head(top_variants)),
        "waiting_per_step": _records(step_waiting(log, pair_frame)),
        "service_time": _records(service_times(log)),
        "bottlenecks": _records(bottlenecks(log, top_bottlenecks, dfg=dfg)),
        "rework": _records(rework(log)),
        "rework_cases": rework_cases(log),
    }
