"""The month-end summary of point-in-time KPIs gives exactly the values of counting the clocks directly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import duckdb
import pytest

from claimwatch.kpi import summary
from claimwatch.kpi.columns import TABLES, open_snapshot
from claimwatch.kpi.engine import Period, Scope, compute
from claimwatch.kpi.loader import Kpi, parse_catalogue

NOW = dt.datetime(2026, 11, 5, 10, 1, 30, 123456)  # noqa: DTZ001 - snapshot wall time
CATALOGUE = """
kpis:
  - code: overdue_rate
    name: {zh: 在途超时率, en: Overdue rate}
    definition: {zh: 期末在途超时比例, en: Share of open clocks past target}
    source: clocks
    period: end
    where: "started_at < {end} AND (stopped_at IS NULL OR stopped_at >= {end})"
    numerator: "count(*) FILTER (WHERE breached_at < {end})"
    denominator: "count(*)"
    unit: "%"
    better: lower
    target: 5
    owner: {zh: 理赔部, en: Claims}
  - code: open_red
    name: {zh: 期末红灯数, en: Open red clocks}
    definition: {zh: 期末在途且超时的时效数, en: Open breached clocks at the end}
    source: clocks
    period: end
    where: "started_at < {end} AND (stopped_at IS NULL OR stopped_at >= {end}) AND breached_at < {end}"
    numerator: "count(*)"
    unit: count
    better: lower
    target: 0
    owner: {zh: 理赔部, en: Claims}
  - code: open_claims
    name: {zh: 期末在途赔案数, en: Open claims}
    definition: {zh: 期末在途的赔案数, en: Claims with an open clock at the end}
    source: clocks
    period: end
    where: "started_at < {end} AND (stopped_at IS NULL OR stopped_at >= {end})"
    numerator: "count(DISTINCT claim_id)"
    unit: count
    better: lower
    target: 0
    owner: {zh: 理赔部, en: Claims}
"""


def _kpis() -> list[Kpi]:
    return parse_catalogue(CATALOGUE, "test.yaml")


def _write_snapshot(directory: Path, clocks: int = 3000) -> None:
    """A small snapshot: clocks of 3 tenants over 14 months, with missing org units, regions and stops."""
    rng = random.Random(7)
    con = duckdb.connect(":memory:")
    for table in TABLES.values():
        con.execute(f"CREATE TABLE {table.name} ({table.ddl()})")
    units = [(1 + i // 3, 10 + i, f"U{i}", f"Unit {i}", None, "440000", f"/{10 + i}/") for i in range(9)]
    units.append((1, 30, "U30", "Sub of 10", 10, "440000", "/10/30/"))
    con.executemany("INSERT INTO org_units VALUES (?, ?, ?, ?, ?, ?, ?)", units)
    start = dt.datetime(2025, 9, 20)  # noqa: DTZ001
    span = (NOW + dt.timedelta(days=3) - start).total_seconds()
    rows = []
    for i in range(clocks):
        tenant = rng.choice((1, 2, 3))
        org = rng.choice((None, 30, *(u[1] for u in units if u[0] == tenant)))
        started = start + dt.timedelta(seconds=rng.random() * span)
        due = dt.timedelta(hours=rng.choice((24, 120, 720)))
        done = started + dt.timedelta(hours=rng.random() * 900)
        if rng.random() < 0.05:
            done = start + dt.timedelta(days=5000)  # never stopped
        stopped = done if done < NOW else None
        breached = started + due if started + due < min(done, NOW) else None
        if rng.random() < 0.02:
            stopped = started  # stopped at once: open at no end, including one falling on a month start
        rows.append(
            (
                tenant,
                i,
                org,
                rng.choice(("440000", "310000", None)),
                rng.choice(("motor", "medical")),
                "timeliness_small",
                "stopped" if stopped else "running",
                "red" if breached else "green",
                None,
                started,
                stopped,
                breached,
            )
        )
    # Clocks exactly at month starts and at the snapshot's moment, where < and >= decide.
    edge = dt.datetime(2026, 10, 1)  # noqa: DTZ001
    rows.append((1, 90001, 10, "440000", "motor", "x", "running", "red", None, edge, None, edge))
    rows.append((1, 90002, 10, "440000", "motor", "x", "stopped", "green", None, edge, edge, None))
    rows.append((1, 90003, 10, "440000", "motor", "x", "stopped", "red", None, NOW, NOW, NOW))
    rows.append((2, 90004, None, None, None, "x", "running", "red", None, edge - dt.timedelta(days=1), None, edge))
    # One statement for all rows, a list per column (executemany ran one INSERT a row: 2 s a thousand).
    columns = ", ".join(f"CAST(unnest(?) AS {kind})" for _, kind in TABLES["clocks"].columns)
    con.execute(f"INSERT INTO clocks SELECT {columns}", [list(column) for column in zip(*rows, strict=True)])  # noqa: S608
    for name in TABLES:
        con.execute(f"COPY {name} TO '{directory / f'{name}.parquet'}' (FORMAT parquet)")
    con.close()


def _as_dict(con: duckdb.DuckDBPyConnection, kpis: list[Kpi], periods: list[Period], scope: Scope, by: tuple[str, ...]):  # type: ignore[no-untyped-def]
    values = compute(con, kpis, periods, scope, by, NOW).values
    as_dict = {(v.kpi, v.period, v.key): (v.numerator, v.denominator, v.value) for v in values}
    assert len(as_dict) == len(values)
    return as_dict


SCOPES = [
    Scope(tenant_ids=None),
    Scope(tenant_ids=(1,)),
    Scope(tenant_ids=(2, 3)),
    Scope(tenant_ids=()),
    Scope(tenant_ids=(1,), org_unit_id=10),
    Scope(tenant_ids=None, region="310000"),
    Scope(tenant_ids=(3,), line="medical"),
]
BYS = [(), ("tenant",), ("org",), ("region",), ("line",), ("tenant", "region")]
PERIOD_SETS = [
    Period.parse("2026-11").trailing(12),
    Period.parse("2026-11").trailing(16),  # before the data begins too
    [Period.parse("2026-11")],
    [Period.parse("2026-09"), Period.parse("2027-01")],  # a future month ends "now" as well
    Period.parse("2026-Q4").trailing(6),
]


def test_summary_equals_direct_count(tmp_path: Path):
    _write_snapshot(tmp_path)
    kpis = _kpis()
    assert [k.code for k in summary.summarisable(kpis)] == ["overdue_rate", "open_red"]  # not count(DISTINCT)
    assert summary.write(tmp_path, kpis, NOW) > 0
    direct = open_snapshot(tmp_path, summaries=False)
    summed = open_snapshot(tmp_path)
    ends = {row[0] for row in summed.execute("SELECT DISTINCT end_at FROM end_points").fetchall()}
    assert NOW in ends and dt.datetime(2025, 10, 1) in ends and dt.datetime(2025, 9, 1) not in ends  # noqa: DTZ001
    # Without the facts the summary alone answers (proving it is read), for the KPIs it holds.
    summed.execute("DROP VIEW clocks")
    summed.execute(f"CREATE TABLE clocks ({TABLES['clocks'].ddl()})")
    held = summary.summarisable(kpis)
    checked = 0
    # Every period set with every scope, each ungrouped and with one grouping; the groupings take turns, so each
    # is checked with several scopes and period sets (all 210 combinations took 12 s of the suite's budget).
    combinations = [(periods, scope) for periods in PERIOD_SETS for scope in SCOPES]
    for turn, (periods, scope) in enumerate(combinations):
        for by in (BYS[0], BYS[1 + turn % (len(BYS) - 1)]):
            expected = _as_dict(direct, kpis, periods, scope, by)
            got = _as_dict(summed, held, periods, scope, by)
            # 2025-08 ends before the data begins: not in the summary, counted (as nothing) from no clocks.
            covered = {k: v for k, v in expected.items() if k[0] in {kpi.code for kpi in held}}
            assert got == covered, (periods, scope, by)
            checked += len(covered)
    assert checked > 300
    direct.close()
    summed.close()


def test_engine_mixes_summary_and_direct_and_ignores_a_changed_formula(tmp_path: Path):
    _write_snapshot(tmp_path, clocks=800)
    kpis = _kpis()
    summary.write(tmp_path, kpis, NOW)
    direct = open_snapshot(tmp_path, summaries=False)
    summed = open_snapshot(tmp_path)
    periods = Period.parse("2026-11").trailing(16)  # early ends are counted directly, the rest summed
    for scope in SCOPES:
        for by in BYS:
            assert _as_dict(summed, kpis, periods, scope, by) == _as_dict(direct, kpis, periods, scope, by)
    # A formula edited after the snapshot: its fingerprint differs, so the facts are counted (still right).
    changed = [dataclasses.replace(k, where=f"({k.where}) AND line = 'motor'") for k in kpis]
    assert _as_dict(summed, changed, periods, SCOPES[0], ("tenant",)) == _as_dict(
        direct, changed, periods, SCOPES[0], ("tenant",)
    )
    summed.execute("DROP VIEW clocks")
    summed.execute(f"CREATE TABLE clocks ({TABLES['clocks'].ddl()})")
    assert not any(v.value for v in compute(summed, changed[:1], periods, SCOPES[0], (), NOW).values)
    direct.close()
    summed.close()


@pytest.mark.parametrize(
    ("expression", "additive"),
    [
        ("count(*)", True),
        ("count(*) FILTER (WHERE breached_at < {end})", True),
        ("COUNT(*) filter (where outcome = 'met' and (light = ')' or true))", True),
        ("count(DISTINCT claim_id)", False),
        ("count(breached_at)", False),
        ("count(*) + 1", False),
        ("count(*) FILTER (WHERE a) - count(*) FILTER (WHERE b)", False),
        ("sum(1)", False),
    ],
)
def test_only_plain_counts_are_summarised(expression: str, additive: bool):
    kpi = dataclasses.replace(_kpis()[0], numerator=expression)
    assert bool(summary.summarisable([kpi])) is additive
