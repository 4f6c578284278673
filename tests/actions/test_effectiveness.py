"""The effectiveness check decides by the test of the indicator's type, on constructed snapshot tables; and the
engine's window functions agree with the monthly KPI values on a real snapshot (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from claimwatch.actions import effectiveness as eff
from claimwatch.actions.effectiveness import Window, default_windows, evaluate
from claimwatch.config import get_settings
from claimwatch.kpi import loader, service, snapshot
from claimwatch.kpi.columns import empty_connection
from claimwatch.kpi.engine import Period, Scope, compute, compute_window, row_values
from claimwatch.kpi.loader import CatalogueError, parse_catalogue
from tests.apps import shared_app
from tests.factories import World
from tests.kpi.helpers import close, ingest, local, report, steps

KPIS = loader.by_code()
ACME = Scope(tenant_ids=(1,))
BEFORE = Window(dt.date(2026, 3, 1), dt.date(2026, 6, 1))
AFTER = Window(dt.date(2026, 6, 1), dt.date(2026, 9, 1))
TAKEN = dt.datetime(2026, 10, 1, 2, 0, tzinfo=dt.UTC)


def _days(window: Window, count: int) -> list[dt.datetime]:
    """``count`` instants spread over the window's days."""
    return [
        dt.datetime.combine(window.start, dt.time(10)) + dt.timedelta(days=i * window.days / count)
        for i in range(count)
    ]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[Any, ...]], columns: str = "") -> None:
    """All rows in one INSERT … VALUES statement: DuckDB's executemany runs one INSERT per row (~3 ms each)."""
    if not rows:
        return
    row = "(" + ", ".join("?" * len(rows[0])) + ")"
    values = ", ".join([row] * len(rows))
    con.execute(f"INSERT INTO {table} {columns} VALUES {values}", [value for r in rows for value in r])


def _clocks(con: duckdb.DuckDBPyConnection, window: Window, met: int, breached: int, tenant: int = 1) -> None:
    rows, total = [], met + breached
    for i, started in enumerate(_days(window, total)):
        late = (i * breached) // total != ((i + 1) * breached) // total  # spread evenly over the days
        rows.append(
            (tenant, i, 11, "440000", "motor", "timeliness_small", "stopped", "green",
             "breached" if late else "met", started, started + dt.timedelta(hours=30 if late else 5),
             started + dt.timedelta(hours=24) if late else None)
        )  # fmt: skip
    _insert(con, "clocks", rows)


def _closed(con: duckdb.DuckDBPyConnection, window: Window, days: list[float]) -> None:
    """Claims closed in the window (cycle_time's period column) after ``days`` each."""
    rows = [
        (1, i, 11, "440000", "motor", "closed", closed - dt.timedelta(days=d), closed, False)
        for i, (closed, d) in enumerate(zip(_days(window, len(days)), days, strict=True))
    ]
    columns = "(tenant_id, claim_id, org_unit_id, region_code, line, status, reported_at, closed_at, disputed)"
    _insert(con, "claims", rows, columns)


def _complaints(con: duckdb.DuckDBPyConnection, window: Window, count: int) -> None:
    rows = [
        (1, None, 11, "440000", "motor", "phone", "timeliness", None, "closed", False, False, True, True, at, None,
         None)
        for at in _days(window, count)
    ]  # fmt: skip
    _insert(con, "complaints", rows)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = empty_connection()
    yield connection
    connection.close()


def _check(con: duckdb.DuckDBPyConnection, code: str, **options: object) -> eff.EffectivenessResult:
    return evaluate(con, KPIS[code], ACME, BEFORE, AFTER, taken_at=TAKEN, **options)  # type: ignore[arg-type]


def test_rate_two_proportion_and_p_chart(con: duckdb.DuckDBPyConnection) -> None:
    _clocks(con, BEFORE, met=120, breached=80)  # 60 %
    _clocks(con, AFTER, met=180, breached=20)  # 90 %
    _clocks(con, AFTER, met=0, breached=100, tenant=2)  # another tenant's bad months are not ACME's
    result = _check(con, "small_timeliness")
    assert result.test == "two_proportion" and result.verdict == "improved" and result.reason is None
    assert (result.before.n, result.after.n) == (200, 200)
    assert result.before.value == pytest.approx(60.0) and result.after.value == pytest.approx(90.0)
    z = 0.3 / (0.75 * 0.25 * 2 / 200) ** 0.5  # pooled 300/400
    assert result.difference == pytest.approx(30.0) and result.statistic == pytest.approx(z)
    assert result.p_value is not None and result.p_value < 1e-6
    chart = result.details["p_chart"]
    assert chart["centre"] == pytest.approx(60.0) and [p["period"] for p in chart["points"]] == [
        "2026-06", "2026-07", "2026-08"
    ]  # fmt: skip
    assert chart["beyond_better"] == 3 and chart["beyond_worse"] == 0
    assert [label for label, _ in result.before.series] == ["2026-03", "2026-04", "2026-05"]
    again = eff.EffectivenessResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result
    assert "p = < 0.001" in eff.summary_text(result, "en") and eff.verdict_label(result.verdict) == "Improved"

    reversed_ = evaluate(con, KPIS["small_timeliness"], ACME, AFTER, BEFORE, taken_at=TAKEN)
    assert reversed_.verdict == "worse" and reversed_.p_value == result.p_value


def test_rate_no_change_too_few_and_short_windows(con: duckdb.DuckDBPyConnection) -> None:
    _clocks(con, BEFORE, met=90, breached=10)
    _clocks(con, AFTER, met=90, breached=10)
    same = _check(con, "small_timeliness")
    assert same.verdict == "no_change" and same.p_value == pytest.approx(1.0) and same.statistic == 0.0

    few = _check(con, "small_timeliness", min_n=150)
    assert few.verdict == "insufficient" and few.reason == eff.MSG_FEW_CASES and few.p_value is None
    assert few.reason_args == {"before": 100, "after": 100, "min_n": 150}
    assert eff.reason_text(few, "en") == "Too few cases: 100 before and 100 after; at least 150 on each side."

    # Do ended 2026-09-20, the snapshot on 10-01: the after window has 11 days, not the 90 asked for.
    before, after = default_windows(dt.date(2026, 9, 20), dt.date(2026, 12, 31))
    short = evaluate(con, KPIS["small_timeliness"], ACME, before, after, taken_at=TAKEN)
    assert short.after.window == Window(dt.date(2026, 9, 20), dt.date(2026, 10, 1))
    assert short.verdict == "insufficient" and short.reason == eff.MSG_AFTER_SHORT
    assert short.reason_args == {"days": 11, "min_days": eff.MIN_WINDOW_DAYS}
    assert default_windows(dt.date(2026, 9, 20), dt.date(2026, 9, 1), lag_days=5)[1].days == 0


def test_durations_and_scores_mann_whitney(con: duckdb.DuckDBPyConnection) -> None:
    _closed(con, BEFORE, [4.0 + (i % 13) for i in range(65)])  # 4–16 days
    _closed(con, AFTER, [1.0 + (i % 9) for i in range(63)])  # 1–9 days
    result = _check(con, "cycle_time")
    assert result.test == "mann_whitney" and result.verdict == "improved"  # lower is better
    assert (result.before.n, result.after.n) == (65, 63) and result.p_value is not None and result.p_value < 1e-6
    assert result.before.median == pytest.approx(10.0) and result.after.median == pytest.approx(5.0)
    assert result.before.value == pytest.approx(result.before.mean)  # the KPI is the mean of the rows
    assert result.details["prob_after_greater"] < 0.5 and result.details["welch_t"]["p_value"] < 0.001
    assert evaluate(con, KPIS["cycle_time"], ACME, AFTER, BEFORE, taken_at=TAKEN).verdict == "worse"

    scores = [(1, i, 11, "440000", "motor", "claim", None, "answered", at, at, 5 + i % 5, None, None, None)
              for period in (BEFORE, AFTER) for i, at in enumerate(_days(period, 40))]  # fmt: skip
    _insert(con, "surveys", scores)
    satisfaction = _check(con, "satisfaction")
    assert satisfaction.verdict == "no_change" and satisfaction.p_value == pytest.approx(1.0)
    assert _check(con, "satisfaction", min_n=41).reason == eff.MSG_FEW_CASES


def test_counts_and_rates_per_exposure_poisson(con: duckdb.DuckDBPyConnection) -> None:
    _complaints(con, BEFORE, 60)
    _complaints(con, AFTER, 20)
    result = _check(con, "complaints_received")
    assert result.test == "poisson_rate" and result.verdict == "improved"
    assert (result.before.n, result.after.n) == (60, 20) and result.p_value is not None and result.p_value < 0.001
    assert result.details["exposure"] == {"before": 92.0, "after": 92.0, "kind": "days"}
    assert result.difference == pytest.approx((20 - 60) / 92 * 30)
    assert evaluate(con, KPIS["complaints_received"], ACME, AFTER, BEFORE, taken_at=TAKEN).verdict == "worse"
    few = _check(con, "complaints_received", min_n=100)
    assert few.reason == eff.MSG_FEW_EVENTS and few.reason_args == {"before": 60, "after": 20, "min_n": 100}

    # per 10 000 claims: 30 complaints on 10 000 claims before, 30 on 10 000 after: the same rate.
    exposure = [(1, None, 11, "440000", "motor", dt.datetime.combine(m, dt.time()), 10, 3333, None, None)
                for m in (dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1),
                          dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1))]  # fmt: skip
    _insert(con, "complaint_exposure", exposure)
    per_claims = _check(con, "complaints_per_10k_claims")
    assert per_claims.verdict == "no_change" and per_claims.p_value == pytest.approx(1.0)
    assert per_claims.before.value == pytest.approx(30 / 9999 * 10_000)


def test_catalogue_row_key_is_checked() -> None:
    base = """kpis:
  - code: xx_days
    name: {zh: 甲, en: X}
    definition: {zh: 甲, en: X}
    source: claims
    period: closed_at
    numerator: "sum(epoch(closed_at) - epoch(reported_at))"
    denominator: "count(*)"
    unit: UNIT
    better: lower
    owner: {zh: 甲, en: X}
    row: ROW
"""
    assert parse_catalogue(base.replace("UNIT", "days").replace("ROW", "epoch(closed_at)"), "k.yaml")[0].row
    with pytest.raises(CatalogueError, match="k.yaml:12: row is not a per-row expression"):
        parse_catalogue(base.replace("UNIT", "days").replace("ROW", "sum(epoch(closed_at))"), "k.yaml")
    with pytest.raises(CatalogueError, match="'row' is for a mean"):
        parse_catalogue(base.replace("UNIT", '"%"').replace("ROW", "epoch(closed_at)"), "k.yaml")


@pytest.fixture
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "snapshot"
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_windows_on_a_real_snapshot(world: World, snapshot_dir: Path) -> None:
    acme = world.tenant("ACME", "示例保险")
    client = TestClient(shared_app())
    starts = [local(2026, 10, 5, 9), local(2026, 10, 20, 9), local(2026, 11, 3, 9), local(2026, 11, 10, 9)]
    hours = [8.0, 30.0, 12.0, 50.0]
    events = []
    for i, (start, last) in enumerate(zip(starts, hours, strict=True)):
        events += [report(f"r{i}", f"W{i}", start, org_code=acme.branch_code), *close(f"W{i}", start, steps(1, last))]
    ingest(client, acme, events)
    snapshot.take_snapshot(now=local(2026, 11, 20, 12))
    scope = Scope(tenant_ids=(acme.id,))
    with service.opened() as snap:
        months = compute(snap.con, [KPIS["cycle_time"]], [Period.parse("2026-10"), Period.parse("2026-11")], scope)
        window = compute_window(snap.con, KPIS["cycle_time"], dt.date(2026, 10, 1), dt.date(2026, 12, 1), scope)
        rows = row_values(snap.con, KPIS["cycle_time"], dt.date(2026, 10, 1), dt.date(2026, 12, 1), scope)
        late = compute_window(snap.con, KPIS["small_timeliness"], dt.date(2026, 10, 1), dt.date(2026, 11, 1), scope)
        result = evaluate(
            snap.con,
            KPIS["small_timeliness"],
            scope,
            Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
            Window(dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
            min_n=1,
            taken_at=snap.taken_at,
        )
    assert sorted(rows) == pytest.approx(sorted(h / 24 for h in hours))
    assert window.value == pytest.approx(sum(hours) / 24 / 4) and window.denominator == 4
    assert [(m.period, m.value) for m in window.months] == sorted((v.period, v.value) for v in months.values)
    assert (late.numerator, late.denominator) == (1.0, 2.0)  # W1 closed after 30 h: its 24 h clock breached
    assert result.after.window.end == dt.date(2026, 11, 20)  # capped at the snapshot's day
    assert (result.before.n, result.after.n, result.before.value, result.after.value) == (2, 2, 50.0, 50.0)
    assert result.verdict == "insufficient" and result.reason == eff.MSG_AFTER_SHORT  # 19 days after
