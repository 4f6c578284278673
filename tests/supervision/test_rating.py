"""The rating's computation without a database: scoring functions, missing values, deductions and their caps,
grades, ranks and rank bands, the year period, and the inputs read from a (synthetic) KPI snapshot."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from claimwatch.errors import Invalid
from claimwatch.kpi.engine import BadPeriod, Period, Value
from claimwatch.supervision import methodology, rating
from claimwatch.supervision.rating import DeductionInput, UnitInput, score_units
from tests.supervision import rating_world

SMALL = """
code: test
title: {zh: 测试, en: Test}
indicators:
  - {kpi: cycle_time, weight: 50, scoring: {linear: {floor: 30, ceiling: 5}}, missing: zero}
  - {kpi: satisfaction, weight: 30, scoring: {linear: {floor: 5, ceiling: 9}}, missing: exclude}
  - {kpi: complaints_per_10k_policies, weight: 20, scoring: {percentile: {}}, missing: exclude}
deductions:
  kinds: {major_complaint: {max_points: 4}, regulatory_penalty: {max_points: 20}}
  cap: 10
grades: [{grade: A, min: 80}, {grade: B, min: 60}, {grade: D}]
min_claims: 5
"""


def unit(tenant: int, cycle: float | None, sat: float | None, rate: float | None, claims: int = 10) -> UnitInput:
    values = {}
    for code, value in (("cycle_time", cycle), ("satisfaction", sat), ("complaints_per_10k_policies", rate)):
        if value is not None:
            values[code] = Value(code, "2026-Q2", (str(tenant),), value, 1.0, value)
    return UnitInput(tenant, None, claims, values)


def by_tenant(scored: rating.Scored) -> dict[int, rating.UnitScore]:
    return {r.tenant_id: r for r in scored.results}


def test_linear_percentile_missing_and_ranks() -> None:
    method = methodology.parse(SMALL, "small.yaml")
    scored = score_units(
        method,
        [
            unit(1, 5.0, 9.0, 1.0),  # best everywhere: 100
            unit(2, 17.5, 7.0, 2.0),  # halfway; middle of three on complaints
            unit(3, 40.0, None, 3.0),  # beyond the floor: 0; satisfaction missing → excluded
            unit(4, 10.0, 8.0, None, claims=4),  # too few claims: not rated
        ],
    )
    found = by_tenant(scored)
    assert [u.tenant_id for u in scored.unrated] == [4]
    assert found[1].score == Decimal("100.00") and found[1].grade == "A"
    # 50 × 0.5 + 30 × 0.5 + 20 × 0.5 (better than one of two others)
    assert found[2].score == Decimal("50.00") and found[2].grade == "D"
    rows = {row["kpi"]: row for row in found[2].indicators}
    assert rows["cycle_time"]["points"] == 50.0 and rows["cycle_time"]["contribution"] == 25.0
    assert rows["complaints_per_10k_policies"]["points"] == 50.0
    # Tenant 3: satisfaction excluded, so cycle time (0 points) and complaints (0 points) carry 50/70 and 20/70.
    third = {row["kpi"]: row for row in found[3].indicators}
    assert third["satisfaction"]["basis"] == "excluded" and third["satisfaction"]["contribution"] == 0.0
    assert third["cycle_time"]["effective_weight"] == pytest.approx(71.4286)
    assert found[3].score == Decimal("0.00")
    assert [(r.tenant_id, r.rank, r.peers) for r in scored.results] == [(1, 1, 3), (2, 2, 3), (3, 3, 3)]
    assert [r.rank_band for r in scored.results] == ["top 25 %", "25–50 %", "bottom 25 %"]


def test_missing_zero_ties_share_a_rank_and_percentile_ties_count_half() -> None:
    method = methodology.parse(SMALL, "small.yaml")
    scored = score_units(method, [unit(1, None, 9.0, 2.0), unit(2, None, 9.0, 2.0)])
    first, second = scored.results
    assert first.score == second.score == Decimal("40.00")  # cycle time missing: 0 of 50; 30 + 20 × ½
    row = next(r for r in first.indicators if r["kpi"] == "cycle_time")
    assert row["basis"] == "none" and row["points"] == 0.0
    assert (first.rank, second.rank) == (1, 1)


def test_deductions_capped_per_kind_and_in_total() -> None:
    method = methodology.parse(SMALL, "small.yaml")
    deductions = [
        DeductionInput(1, 1, None, "major_complaint", Decimal(3), "a"),
        DeductionInput(2, 1, None, "major_complaint", Decimal(3), "b"),  # 6 of this kind, capped at 4
        DeductionInput(3, 1, None, "regulatory_penalty", Decimal(8), "c"),  # 4 + 8 = 12, capped at 10 in total
        DeductionInput(4, 2, "440000", "other", Decimal(5), "another insurer's branch"),
    ]
    scored = score_units(method, [unit(1, 5.0, 9.0, 1.0), unit(2, 5.0, 9.0, 1.0)], deductions)
    found = by_tenant(scored)
    # Both 90 before deductions (a tie on complaints: half the points each)
    assert found[1].deduction_points == Decimal("10.00") and found[1].score == Decimal("80.00")
    assert [d["id"] for d in found[1].deductions] == [1, 2, 3]
    assert found[2].deduction_points == Decimal("5.00")  # other: no cap of its own
    assert found[2].rank == 1 and found[1].rank == 2
    # At branch level a deduction for one region counts only in that branch; an insurer-wide one in every branch.
    branch = [UnitInput(2, "440000", 10, unit(2, 5.0, 9.0, 1.0).values), UnitInput(2, "310000", 10, {})]
    scored = score_units(
        method, branch, [*deductions, DeductionInput(5, 2, None, "other", Decimal(1), "all")], "branch"
    )
    assert {r.region_code: r.deduction_points for r in scored.results} == {"440000": Decimal("6.00"), "310000": 1}


def test_score_never_below_zero_and_grade_bands() -> None:
    method = methodology.parse(SMALL, "small.yaml")
    scored = score_units(
        method, [unit(1, 29.0, None, None)], [DeductionInput(1, 1, None, "regulatory_penalty", Decimal(20), "x")]
    )
    assert scored.results[0].score == Decimal("0.00") and scored.results[0].grade == "D"
    assert [method.grade_for(Decimal(s)) for s in ("80", "79.99", "60", "0")] == ["A", "B", "B", "D"]


def test_rank_bands() -> None:
    assert [rating.rank_band(r, 8) for r in range(1, 9)] == [
        "top 25 %",
        "top 25 %",
        "25–50 %",
        "25–50 %",
        "50–75 %",
        "50–75 %",
        "bottom 25 %",
        "bottom 25 %",
    ]
    assert rating.rank_band(1, 1) == "top 25 %"


def test_year_period() -> None:
    year = Period.parse("2026", years=True)
    assert (year.kind, year.start, year.end, year.label, year.months) == (
        "year",
        dt.date(2026, 1, 1),
        dt.date(2027, 1, 1),
        "2026",
        12,
    )
    assert year.shift(-1).label == "2025" and Period.containing(dt.date(2026, 8, 9), "year") == year
    with pytest.raises(BadPeriod):
        Period.parse("2026")  # only where years are asked for
    assert rating.parse_period("2026-q3").label == "2026-Q3"
    assert rating.covered_periods(year) == ["2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    with pytest.raises(Invalid) as refused:
        rating.parse_period("2026-07")
    assert refused.value.field == "period"


def test_inputs_from_a_snapshot(tmp_path: Path) -> None:
    """The engine's values by tenant (and region) for a quarter and a year, with the claim counts."""
    q2 = dt.date(2026, 4, 1)
    rows: rating_world.Rows = {}
    rating_world.unit_rows(rows, 1, q2, 1.0)
    rating_world.unit_rows(rows, 2, q2, 0.0, region="310000")
    rating_world.unit_rows(rows, 2, q2, 0.5, claims=4)
    rating_world.unit_rows(rows, 1, dt.date(2026, 7, 1), 0.5)
    snap = rating_world.opened(
        rating_world.write(tmp_path, [(1, "A"), (2, "B")], rows), dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    )
    method = dataclasses.replace(methodology.load(), min_claims=10)
    quarter = {(u.tenant_id, u.region_code): u for u in rating.snapshot_inputs(snap, method, Period.parse("2026-Q2"))}
    assert {k: u.claims for k, u in quarter.items()} == {(1, None): 20, (2, None): 24}
    best = quarter[(1, None)].values
    assert best["cycle_time"].value == pytest.approx(5.0) and best["red_filings"].value == 0.0  # no filings: zero
    assert best["satisfaction"].value == pytest.approx(9.0)
    branches = rating.snapshot_inputs(snap, method, Period.parse("2026-Q2"), "branch")
    assert sorted((u.tenant_id, u.region_code, u.claims) for u in branches) == [
        (1, "440000", 20),
        (2, "310000", 20),
        (2, "440000", 4),
    ]
    year = rating.snapshot_inputs(snap, method, Period.parse("2026", years=True))
    assert {u.tenant_id: u.claims for u in year} == {1: 40, 2: 24}
    scored = score_units(method, rating.snapshot_inputs(snap, method, Period.parse("2026-Q2")))
    assert [r.tenant_id for r in scored.results] == [1, 2] and scored.results[0].grade == "AAA"
    snap.con.close()
