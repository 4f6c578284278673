"""The monthly summary (claimwatch.kpi.monthly) gives exactly the values of counting the facts, is read only when it
holds a KPI's own formula over the same facts, and distinct claim counts come from it only when exact."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import duckdb
import pytest

from claimwatch.kpi import loader, monthly
from claimwatch.kpi.columns import MONTHLY_FOLDER, monthly_view, open_snapshot
from claimwatch.kpi.engine import Period, Scope, compute
from tests.kpi.synthetic import (
    NOW,
    CountingConnection,
    assert_same_values,
    facts_in_memory,
    result_table,
    write_snapshot,
)

PROACTIVE = "proactive_notification_rate"


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory, kpis: list[loader.Kpi]) -> Path:
    """Every table, 3 tenants, 10 units (one under another), 2 regions and 2 lines with NULLs, 9 months, rows at
    month starts; each claim's rows carry the claim's dimensions (rows without a claim their own)."""
    directory = tmp_path_factory.mktemp("monthly-grouped")
    write_snapshot(directory, kpis, rows=3000, grouped_claims=True)
    return directory


SCOPES = [
    Scope(tenant_ids=None),
    Scope(tenant_ids=(2, 3)),
    Scope(tenant_ids=()),
    Scope(tenant_ids=(1,), org_unit_id=10),  # the unit and its subtree
    Scope(tenant_ids=(3,), line="medical"),
    Scope(tenant_ids=None, region="440000", line="motor"),
]
PERIOD_SETS = [
    Period.parse("2026-11").trailing(12),  # before the data begins too
    [Period.parse("2026-04"), Period.parse("2026-09")],
    Period.parse("2026-Q4").trailing(4),
    [Period.parse("2026", years=True)],
]
BYS = [(), ("tenant",), ("org",), ("region",), ("line",), ("tenant", "region", "line")]


def test_every_kpi_from_the_summary_equals_the_facts(grouped: Path, kpis: list[loader.Kpi]):
    summed, facts = open_snapshot(grouped), facts_in_memory(grouped)
    try:
        checked = 0
        for turn, (scope, periods) in enumerate((s, p) for s in SCOPES for p in PERIOD_SETS):
            for by in (BYS[0], BYS[1 + turn % (len(BYS) - 1)]):
                expected = result_table(compute(facts, kpis, periods, scope, by, NOW))
                assert_same_values(
                    result_table(compute(summed, kpis, periods, scope, by, NOW)),
                    expected,
                    rel_tol=1e-9,
                    exact_counts=True,
                )
                checked += len(expected)
        assert checked > 3000
    finally:
        summed.close()
        facts.close()


def test_the_summary_alone_answers_the_kpis_it_holds(grouped: Path, kpis: list[loader.Kpi]):
    """Without the fact tables the summary still gives the values (so it is what is read), distinct claim counts
    included for months; a quarter's distinct count is not a sum of months and needs the facts."""
    served = [k for k in kpis if monthly.shape(k) is not None]
    assert {k.code for k in kpis if k.period != loader.END} - {k.code for k in served} == {
        "complaints_per_10k_policies"  # count(DISTINCT month_at): not a claim, does not add up over groups
    }
    facts = facts_in_memory(grouped)
    summed = open_snapshot(grouped)
    months = Period.parse("2026-11").trailing(12)
    quarters = Period.parse("2026-Q4").trailing(3)
    try:
        expected = result_table(compute(facts, served, months, Scope(tenant_ids=(1, 2)), ("org",), NOW))
        expected_quarters = result_table(compute(facts, served, quarters, Scope(tenant_ids=None), (), NOW))
        assert {kpi for kpi, _, _ in expected} == {k.code for k in served}
        for table in {k.source for k in served}:
            summed.execute(f"DROP VIEW {table}")  # reading it fails
        got = result_table(compute(summed, served, months, Scope(tenant_ids=(1, 2)), ("org",), NOW))
        assert_same_values(got, expected, rel_tol=1e-9, exact_counts=True)
        additive = [k for k in served if k.code != PROACTIVE]
        got = result_table(compute(summed, additive, quarters, Scope(tenant_ids=None), (), NOW))
        assert_same_values(
            got,
            {key: value for key, value in expected_quarters.items() if key[0] != PROACTIVE},
            rel_tol=1e-9,
            exact_counts=True,
        )
        with pytest.raises(duckdb.CatalogException, match="status_changes"):
            compute(summed, [k for k in served if k.code == PROACTIVE], quarters, Scope(tenant_ids=None), (), NOW)
    finally:
        summed.close()
        facts.close()


def test_a_panel_reads_the_summary_once_per_table_and_column(grouped: Path, kpis: list[loader.Kpi]):
    con = open_snapshot(grouped)
    try:
        counting = CountingConnection(con)
        compute(counting, kpis, Period.parse("2026-11").trailing(12), Scope(tenant_ids=None), (), NOW)
        scans = [s for s in counting.statements if "date_trunc" in s]
        read = sorted(s.split(" FROM ")[1].split()[0] for s in scans if " FROM monthly_" in s)
        pairs = {(k.source, k.period) for k in kpis if monthly.shape(k) is not None and k.period is not None}
        assert read == sorted(monthly_view(source, column) for source, column in pairs)
        # Only the KPI it cannot hold reads its facts.
        assert [s for s in scans if " FROM monthly_" not in s] == [s for s in scans if "FROM complaint_exposure" in s]
        assert len([s for s in scans if "FROM complaint_exposure" in s]) == 1
    finally:
        con.close()


def test_distinct_counts_are_not_summarised_when_a_claim_lies_in_several_groups(tmp_path: Path, kpis: list[loader.Kpi]):
    write_snapshot(tmp_path, kpis)  # rows of one claim with different units, regions and lines
    summed, facts = open_snapshot(tmp_path), facts_in_memory(tmp_path)
    try:
        columns = {
            row[0]
            for row in summed.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                [monthly_view("status_changes", "occurred_at")],
            ).fetchall()
        }
        assert columns and not any(name.startswith("c_") for name in columns)  # the additive parts are there
        counting = CountingConnection(summed)
        months = Period.parse("2026-11").trailing(12)
        proactive = [k for k in kpis if k.code == PROACTIVE]
        got = result_table(compute(counting, proactive, months, Scope(tenant_ids=None), ("region",), NOW))
        assert any("FROM status_changes" in s for s in counting.statements)
        expected = result_table(compute(facts, proactive, months, Scope(tenant_ids=None), ("region",), NOW))
        assert got == expected and len(got) > 10
        for scope, periods in ((Scope(tenant_ids=(2,)), months), (Scope(tenant_ids=None), [Period.parse("2026-Q3")])):
            assert_same_values(
                result_table(compute(summed, kpis, periods, scope, ("org",), NOW)),
                result_table(compute(facts, kpis, periods, scope, ("org",), NOW)),
                rel_tol=1e-9,
                exact_counts=True,
            )
    finally:
        summed.close()
        facts.close()


def test_a_changed_formula_is_counted_from_the_facts(grouped: Path, kpis: list[loader.Kpi]):
    closure = next(k for k in kpis if k.code == "closure_rate")
    changed = dataclasses.replace(
        closure, code="closure_disputed", numerator="count(*) FILTER (WHERE closed_at IS NOT NULL AND disputed)"
    )
    con = open_snapshot(grouped)
    try:
        counting = CountingConnection(con)
        months = Period.parse("2026-11").trailing(12)
        got = result_table(compute(counting, [closure, changed], months, Scope(tenant_ids=None), (), NOW))
        assert len([s for s in counting.statements if "FROM monthly_claims__reported_at" in s]) == 1
        assert len([s for s in counting.statements if "FROM claims" in s]) == 1  # the changed formula
        facts = facts_in_memory(grouped)
        try:
            assert got == result_table(compute(facts, [closure, changed], months, Scope(tenant_ids=None), (), NOW))
        finally:
            facts.close()
        assert got[("closure_disputed", "2026-10", ())] != got[("closure_rate", "2026-10", ())]
    finally:
        con.close()


def test_a_summary_of_other_facts_is_not_read(tmp_path: Path, kpis: list[loader.Kpi]):
    write_snapshot(tmp_path, kpis, rows=800, grouped_claims=True)
    before = open_snapshot(tmp_path)
    views = {row[0] for row in before.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    before.close()
    assert monthly_view("claims", "reported_at") in views and monthly_view("clocks", "started_at") in views
    # The claims are rewritten (one month's file of one tenant loses its rows) after the summary was built.
    victim = sorted((tmp_path / "claims").glob("tenant_id=1/month=2026-10/*.parquet"))[0]
    con = duckdb.connect(":memory:")
    con.execute(f"COPY (SELECT * FROM read_parquet('{victim}') LIMIT 1) TO '{victim}.tmp' (FORMAT parquet)")
    con.close()
    os.replace(f"{victim}.tmp", victim)
    summed, facts = open_snapshot(tmp_path), facts_in_memory(tmp_path)
    try:
        views = {row[0] for row in summed.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert monthly_view("claims", "reported_at") not in views and monthly_view("claims", "closed_at") not in views
        assert monthly_view("clocks", "started_at") in views  # other tables' summaries stay
        claims_kpis = [k for k in kpis if k.source == "claims"]
        periods = Period.parse("2026-11").trailing(12)
        got = result_table(compute(summed, claims_kpis, periods, Scope(tenant_ids=(1,)), (), NOW))
        assert got == result_table(compute(facts, claims_kpis, periods, Scope(tenant_ids=(1,)), (), NOW))
    finally:
        summed.close()
        facts.close()
    assert (tmp_path / MONTHLY_FOLDER / f"{monthly_view('claims', 'reported_at')}.parquet").exists()
