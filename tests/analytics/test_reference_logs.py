"""Our process analytics equal pm4py's on the real public logs in tests/data (reference JSON and live)."""

from __future__ import annotations

import json

import pytest

from claimwatch.analytics import process
from claimwatch.analytics.xes import read_xes
from tests.analytics.pm4py_reference import DATA, TOLERANCE_S, assert_same_as_pm4py, pm4py_results

LOGS = ["running-example.xes", "teleclaims.xes.gz", "helpdesk.xes.gz"]


def _reference(name: str) -> dict:
    return json.loads((DATA / "reference" / f"{name.split('.')[0]}.reference.json").read_text())


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE_S


@pytest.mark.parametrize("name", LOGS)
def test_equal_to_the_pm4py_reference(name):
    reference = _reference(name)
    log = read_xes(DATA / name)
    assert (log.events, log.cases, len(log.activities)) == (
        reference["events"],
        reference["cases"],
        reference["activities"],
    )

    stats = process.duration_stats(log)
    for key, value in reference["case_duration_s_pm4py"].items():
        assert _close(stats[key], value), key

    dfg = process.directly_follows(log)
    assert dfg.height == reference["dfg_edges"]
    assert dfg["count"].sum() == reference["dfg_total_pairs"]
    for ours, theirs in zip(dfg.head(10).to_dicts(), reference["dfg_top10_by_frequency"], strict=True):
        assert (ours["src"], ours["dst"], ours["count"]) == (theirs["src"], theirs["dst"], theirs["count"])
        for key in ("mean_s", "median_s", "min_s", "max_s"):
            assert _close(ours[key], theirs[key]), (theirs["src"], theirs["dst"], key)
    by_mean = process.bottlenecks(log, top=5, by="mean", dfg=dfg).to_dicts()
    for ours, theirs in zip(by_mean, reference["dfg_top5_by_mean_wait"], strict=True):
        assert (ours["src"], ours["dst"], ours["count"]) == (theirs["src"], theirs["dst"], theirs["count"])
        assert _close(ours["mean_s"], theirs["mean_s"])

    assert process.start_activities(log) == reference["start_activities"]
    assert process.end_activities(log) == reference["end_activities"]
    variants = process.variants(log)
    assert variants.height == reference["variants"]
    top = [{"variant": row["variant"], "count": row["count"]} for row in variants.head(5).to_dicts()]
    assert top == reference["variants_top5"]


@pytest.mark.parametrize("name", ["running-example.xes", "helpdesk.xes.gz"])
def test_equal_to_pm4py_computed_live(name):
    assert_same_as_pm4py(read_xes(DATA / name), pm4py_results(DATA / name))


def test_report_on_a_start_complete_log_counts_no_false_rework():
    log = read_xes(DATA / "teleclaims.xes.gz")
    report = process.process_report(log, top_variants=3, top_bottlenecks=3)
    assert report["cases"] == 3512 and report["variant_count"] == 12
    # Every activity appears as start+complete; only completes are counted for rework.
    assert report["rework"] == [] and report["rework_cases"] == 0
    assert sum(bucket["cases"] for bucket in report["duration_histogram"]) == 3512
    waits = {row["activity"]: row for row in report["waiting_per_step"]}
    into = sum(row["count"] for row in report["dfg"] if row["dst"] == "determine likelihood of claim")
    assert waits["determine likelihood of claim"]["count"] == into
    assert report["bottlenecks"][0]["total_s"] >= report["bottlenecks"][1]["total_s"]
    json.dumps(report)  # JSON-ready
