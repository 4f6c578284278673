"""pm4py's answers for a log, and a strict comparison with ours (pm4py is a test-only dependency)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from claimwatch.analytics import process
from claimwatch.analytics.log import EventLog

# The public event logs and pm4py reference numbers kept in the repository (see tests/data/README.md).
DATA = Path(__file__).resolve().parents[1] / "data"
TOLERANCE_S = 1e-6


def pm4py_results(path: Path) -> dict[str, Any]:
    os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        frame = pm4py.read_xes(str(path))
        performance, starts, ends = pm4py.discover_performance_dfg(frame)
        frequency, _, _ = pm4py.discover_dfg(frame)
        return {
            "events": len(frame),
            "cases": frame["case:concept:name"].nunique(),
            "performance": {edge: dict(values) for edge, values in performance.items()},
            "frequency": dict(frequency),
            "start": dict(starts),
            "end": dict(ends),
            "durations": sorted(float(value) for value in pm4py.get_all_case_durations(frame)),
            "variants": {tuple(variant): int(count) for variant, count in pm4py.get_variants(frame).items()},
        }


def assert_same_as_pm4py(log: EventLog, expected: dict[str, Any]) -> None:
    assert log.events == expected["events"]
    assert log.cases == expected["cases"]
    dfg = {(row["src"], row["dst"]): row for row in process.directly_follows(log).to_dicts()}
    assert set(dfg) == set(expected["performance"]) == set(expected["frequency"])
    for edge, values in expected["performance"].items():
        ours = dfg[edge]
        assert ours["count"] == expected["frequency"][edge], edge
        for key in ("mean", "median", "min", "max", "sum"):
            assert abs(ours[f"{key}_s" if key != "sum" else "total_s"] - float(values[key])) <= TOLERANCE_S * max(
                1.0, ours["count"] if key == "sum" else 1.0
            ), (edge, key)
    assert process.start_activities(log) == expected["start"]
    assert process.end_activities(log) == expected["end"]
    durations = sorted(process.case_durations(log)["duration_s"].to_list())
    assert len(durations) == len(expected["durations"])
    assert all(abs(a - b) <= TOLERANCE_S for a, b in zip(durations, expected["durations"], strict=True))
    assert process.variant_counts(log) == expected["variants"]


def pm4py_interval_results(path: Path) -> dict[str, Any]:
    """pm4py's interval-based performance DFG and service times of ``tests/data/interval-claims.csv``
    (claim_no, task, started, finished), read the pm4py way (pandas, then ``format_dataframe``)."""
    os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandas as pd
        import pm4py
        from pm4py.algo.discovery.dfg.adapters.pandas.df_statistics import get_dfg_graph

        frame = pd.read_csv(path, dtype={"claim_no": str})
        frame["started"] = pd.to_datetime(frame["started"], utc=True, format="ISO8601")
        frame = pm4py.format_dataframe(
            frame, case_id="claim_no", activity_key="task", timestamp_key="finished", start_timestamp_key="started"
        )
        keys = {"start_timestamp_key": "start_timestamp", "timestamp_key": "time:timestamp"}
        performance = get_dfg_graph(frame.copy(), measure="performance", perf_aggregation_key="all", **keys)
        frequency = get_dfg_graph(frame.copy(), measure="frequency", **keys)
        service = {
            measure: pm4py.get_service_time(
                frame.copy(), aggregation_measure=measure, start_timestamp_key="start_timestamp"
            )
            for measure in ("mean", "median", "min", "max", "sum")
        }
    return {
        "dfg": [
            {
                "src": src,
                "dst": dst,
                "count": int(frequency[(src, dst)]),
                **{key: float(values[key]) for key in ("mean", "median", "min", "max", "sum")},
            }
            for (src, dst), values in sorted(performance.items())
        ],
        "service_time": {
            activity: {measure: float(service[measure][activity]) for measure in service}
            for activity in sorted(service["mean"])
        },
    }
