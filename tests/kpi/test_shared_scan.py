"""KPIs over the same table and period column share one scan (claimwatch.kpi.engine), each KPI's ``where`` moved
into its aggregates (claimwatch.kpi.filters), and a distinct count of a trend may be counted by bitmap: the values
are those of each KPI's own statement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from claimwatch.kpi import loader
from claimwatch.kpi.columns import open_snapshot
from claimwatch.kpi.engine import Period, Scope, compute
from claimwatch.kpi.filters import NotFilterable, bitmap_counted, distinct_columns, restricted
from tests.kpi.synthetic import (
    NOW,
    CountingConnection,
    assert_same_values,
    facts_in_memory,
    result_table,
    write_snapshot,
)


class _OneStatementPerKpi:
    """Runs each KPI's own statement (all in one query, as the engine sends them to Spark): the reference."""

    batched = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, query: str, parameters: Any = None) -> Any:
        return self.con.execute(query, parameters)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, kpis: list[loader.Kpi]) -> Path:
    directory = tmp_path_factory.mktemp("shared-scan-snapshot")
    write_snapshot(directory, kpis)
    return directory


SCOPES = [
    Scope(tenant_ids=None),
    Scope(tenant_ids=(1,)),
    Scope(tenant_ids=(1, 2), org_unit_id=10),
    Scope(tenant_ids=None, region="440000", line="motor"),
    Scope(tenant_ids=()),
]
PERIOD_SETS = [
    Period.parse("2026-11").trailing(12),  # before the data begins too
    [Period.parse("2026-10")],
    Period.parse("2026-Q4").trailing(4),
]
BYS = [(), ("tenant",), ("org",), ("region", "line")]


def test_shared_scans_give_each_kpis_own_figures(snapshot: Path, kpis: list[loader.Kpi]):
    con = open_snapshot(snapshot)
    reference = _OneStatementPerKpi(facts_in_memory(snapshot))
    try:
        checked = 0
        # Every scope with every period set, each ungrouped and with one grouping (taking turns).
        combinations = [(scope, periods) for scope in SCOPES for periods in PERIOD_SETS]
        for turn, (scope, periods) in enumerate(combinations):
            for by in (BYS[0], BYS[1 + turn % (len(BYS) - 1)]):
                expected = result_table(compute(reference, kpis, periods, scope, by, NOW))
                assert_same_values(result_table(compute(con, kpis, periods, scope, by, NOW)), expected, rel_tol=1e-12)
                checked += len(expected)
        assert checked > 1000
    finally:
        reference.con.close()
        con.close()


def test_kpis_over_one_table_and_column_are_one_scan(snapshot: Path, kpis: list[loader.Kpi]):
    con = open_snapshot(snapshot, summaries=False)  # the facts' scans, not the monthly summary
    try:
        counting = CountingConnection(con)
        periods = Period.parse("2026-11").trailing(12)
        compute(counting, kpis, periods, Scope(tenant_ids=(1,)), ("org",), NOW)
        scans = [s for s in counting.statements if "date_trunc" in s]
        # One scan per (table, period column) of the catalogue's KPIs with a period column, not one per KPI.
        pairs = {(k.source, k.period) for k in kpis if k.period != loader.END}
        assert len(scans) == len(pairs) < len([k for k in kpis if k.period != loader.END])
        claims_by_report = [s for s in scans if "FROM claims" in s and "date_trunc('month', reported_at)" in s]
        assert len(claims_by_report) == 1
    finally:
        con.close()


def test_a_trend_counts_distinct_claims_by_bitmap(snapshot: Path, kpis: list[loader.Kpi]):
    con = open_snapshot(snapshot, summaries=False)  # the facts' scans, not the monthly summary
    try:
        counting = CountingConnection(con)
        proactive = [k for k in kpis if k.code == "proactive_notification_rate"]
        periods = Period.parse("2026-11").trailing(12)
        got = result_table(compute(counting, proactive, periods, Scope(tenant_ids=(1, 3)), (), NOW))
        assert any("bitstring_agg" in s.lower() for s in counting.statements)
        expected = result_table(
            compute(_OneStatementPerKpi(con), proactive, periods, Scope(tenant_ids=(1, 3)), (), NOW)
        )
        assert got == expected and len(got) >= 6
        # Grouped by a dimension there may be many groups: counted by count(DISTINCT) as written.
        counting.statements.clear()
        compute(counting, proactive, periods, Scope(tenant_ids=(1, 3)), ("org",), NOW)
        assert not any("bitstring_agg" in s.lower() for s in counting.statements)
    finally:
        con.close()


def test_bitmap_count_equals_count_distinct_with_nulls_and_empty_groups():
    con = duckdb.connect(":memory:")
    con.execute(
        "CREATE TABLE t AS SELECT i % 7 AS g, CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 37) % 101 - 40 END AS c, "
        "i % 3 = 0 AS a FROM range(2000) r(i)"
    )
    expression = "count(DISTINCT c) - count(DISTINCT c) FILTER (WHERE a AND g = 3)"
    low, high = con.execute("SELECT min(c), max(c) FROM t").fetchone()  # type: ignore[misc]
    counted = bitmap_counted(expression, {"c": (low, high)})
    assert "bitstring_agg" in counted.lower() and "count(distinct" not in counted.lower()
    direct = con.execute(f"SELECT g, {expression} FROM t GROUP BY g ORDER BY g").fetchall()  # noqa: S608
    by_bitmap = con.execute(f"SELECT g, {counted} FROM t GROUP BY g ORDER BY g").fetchall()  # noqa: S608
    assert by_bitmap == direct and len({row[1] for row in direct}) > 1
    assert distinct_columns(expression) == {"c"}


@pytest.mark.parametrize(
    "expression",
    [
        "count(*)",
        "count(*) FILTER (WHERE outcome = 'met' AND breached_at IS NULL)",
        "count(DISTINCT claim_id) - count(DISTINCT claim_id) FILTER (WHERE NOT informed)",
        "sum(epoch(closed_at) - epoch(reported_at)) / 86400.0",
        "sum(v) / nullif(count(DISTINCT m) FILTER (WHERE v IS NOT NULL), 0)",
    ],
)
def test_a_restricted_formula_counts_only_its_rows(expression: str):
    con = duckdb.connect(":memory:")
    start = dt.datetime(2026, 1, 1)  # noqa: DTZ001
    con.execute(
        "CREATE TABLE t AS SELECT i % 4 AS g, i % 9 AS claim_id, "
        "CASE WHEN i % 3 = 0 THEN 'met' END AS outcome, CASE WHEN i % 5 = 0 THEN ? END AS breached_at, "
        "i % 2 = 0 AS informed, ? + to_hours(i) AS reported_at, ? + to_hours(2 * i) AS closed_at, "
        "CASE WHEN i % 6 <> 0 THEN i END AS v, i % 3 AS m, i % 7 < 3 AS w FROM range(300) r(i)",
        [start, start, start],
    )
    where = "w AND g <> 2"
    restricted_sql = restricted(expression, where)
    direct = con.execute(f"SELECT g, {expression} FROM t WHERE {where} GROUP BY g ORDER BY g").fetchall()  # noqa: S608
    shared = con.execute(f"SELECT g, {restricted_sql} FROM t WHERE {where} OR true GROUP BY g ORDER BY g").fetchall()  # noqa: S608
    assert [row for row in shared if row[0] != 2] == direct and direct


@pytest.mark.parametrize("expression", ["1", "count(*) OVER ()", "sum(count(*))", "count(*", "count(*), sum(x)"])
def test_formulas_that_cannot_be_restricted_are_refused(expression: str):
    with pytest.raises(NotFilterable):
        restricted(expression, "true")
