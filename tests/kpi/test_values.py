"""KPI values from the Parquet snapshot equal a hand count of a small data set, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import service, snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.notify import service as notify_service
from claimwatch.sla.models import RegulatorFiling, SlaClock
from tests.kpi.conftest import SNAPSHOT_AT, KpiWorld, take
from tests.kpi.helpers import local

NOV, OCT = Period.parse("2026-11"), Period.parse("2026-10")


def _values(
    scope: Scope, periods: list[Period], by: tuple[str, ...] = ()
) -> dict[tuple[str, str, tuple[str, ...]], float | None]:
    with service.opened() as snap:
        result = service.values(snap, scope, periods, by)
    return {(v.kpi, v.period, v.key): v.value for v in result.values}


def test_snapshot_is_parquet_per_table_and_current_is_swapped(kpi_world: KpiWorld, snapshot_dir):
    first = take()
    # Facts partitioned Hive-style by tenant and month (Spark reads the same folders); dimensions one file each.
    assert (first.directory / "org_units.parquet").exists() and (first.directory / "clocks").is_dir()
    months = {p.relative_to(first.directory).parts[1:3] for p in (first.directory / "claims").glob("*/*/*.parquet")}
    ids = sorted({kpi_world.acme.id, kpi_world.bbb.id})
    assert {tenant for tenant, _ in months} == {f"tenant_id={i}" for i in ids}
    assert ("month=2026-10" in {month for _, month in months}) and ("month=2026-11" in {m for _, m in months})
    assert first.rows["claims"] == 7  # both tenants, tenant column kept
    assert snapshot.current() is not None and snapshot.current().directory == first.directory  # type: ignore[union-attr]
    second = take()
    assert snapshot.current().directory == second.directory  # type: ignore[union-attr]
    assert len([p for p in snapshot_dir.iterdir() if p.name.startswith("gen-")]) <= 2


def test_values_equal_a_hand_count(kpi_world: KpiWorld, kpi_snapshot: snapshot.SnapshotInfo):
    acme = Scope(tenant_ids=(kpi_world.acme.id,))
    values = _values(acme, [OCT, NOV])
    # K1 met, K2 breached (closed after 30 h), K3 breached by the sweep; K0 (October) met
    assert values[("small_timeliness", "2026-11", ())] == pytest.approx(100 / 3)
    assert values[("small_timeliness", "2026-10", ())] == pytest.approx(100.0)
    assert ("large_timeliness", "2026-11", ()) not in values  # K4's clock is running and green: no data
    assert values[("closure_rate", "2026-11", ())] == pytest.approx(40.0)  # K1, K2 of K1..K5
    assert values[("closure_rate", "2026-10", ())] == pytest.approx(100.0)
    assert values[("cycle_time", "2026-11", ())] == pytest.approx((8 + 30) / 2 / 24)
    assert values[("cycle_time", "2026-10", ())] == pytest.approx(8 / 24)
    assert values[("supplement_rate", "2026-11", ())] == pytest.approx(100 / 3)  # K1 of K1, K4, K5
    assert values[("one_time_notice_violation_rate", "2026-11", ())] == pytest.approx(50.0)  # K1 of K1, K4
    assert ("supplement_rate", "2026-10", ()) not in values  # K0 has no profile
    assert values[("red_filings", "2026-10", ())] == 0.0

    with unit_of_work(TenantContext.for_tenant(kpi_world.acme.id)) as session:
        filings = session.execute(select(RegulatorFiling)).scalars().all()
        clocks = session.execute(select(SlaClock)).scalars().all()
        notified = notify_service.proactive_notification_rate(
            session,
            kpi_world.acme.id,
            since=local(2026, 11, 1).astimezone(dt.UTC),
            until=local(2026, 12, 1).astimezone(dt.UTC),
        )
    assert len(filings) == 1  # K3's red small clock
    assert values[("red_filings", "2026-11", ())] == 1.0
    # Overdue rate of open clocks at the snapshot's moment, counted by hand from the operational rows.
    end = SNAPSHOT_AT
    open_clocks = [c for c in clocks if c.started_at < end and (c.stopped_at is None or c.stopped_at >= end)]
    overdue = [c for c in open_clocks if c.breached_at is not None and c.breached_at < end]
    assert open_clocks and overdue
    assert values[("overdue_rate", "2026-11", ())] == pytest.approx(100 * len(overdue) / len(open_clocks))
    # The notify domain's own figure and the catalogue's definition agree.
    assert notified["claims"] > 0
    assert values[("proactive_notification_rate", "2026-11", ())] == pytest.approx(100 * notified["rate"], abs=0.01)


def test_values_by_region_org_and_line(kpi_world: KpiWorld, kpi_snapshot: snapshot.SnapshotInfo):
    acme = Scope(tenant_ids=(kpi_world.acme.id,))
    by_region = _values(acme, [NOV], ("region",))
    assert by_region[("closure_rate", "2026-11", ("440000",))] == pytest.approx(200 / 3)  # K1, K2 of K1, K2, K4
    assert by_region[("closure_rate", "2026-11", ("310000",))] == 0.0  # K3, K5 open
    by_org = _values(acme, [NOV], ("org",))
    with service.opened() as snap:
        labels = service.unit_labels(snap.con, "org", "zh")
    branch = next(key for key, name in labels.items() if name == "广东分公司")
    assert by_org[("closure_rate", "2026-11", (branch,))] == pytest.approx(200 / 3)
    assert by_org[("closure_rate", "2026-11", ("",))] == 0.0  # claims without an org unit
    by_line = _values(acme, [NOV], ("line",))
    assert by_line[("closure_rate", "2026-11", ("motor",))] == pytest.approx(40.0)
    # Drill-down: the branch's subtree only, and one region only.
    assert _values(Scope((kpi_world.acme.id,), org_unit_id=int(branch)), [NOV])[
        ("closure_rate", "2026-11", ())
    ] == pytest.approx(200 / 3)
    assert _values(Scope((kpi_world.acme.id,), region="310000"), [NOV])[("closure_rate", "2026-11", ())] == 0.0


def test_tenants_are_apart_and_a_regulator_sees_all(kpi_world: KpiWorld, kpi_snapshot: snapshot.SnapshotInfo):
    bbb = _values(Scope(tenant_ids=(kpi_world.bbb.id,)), [NOV])
    assert bbb[("closure_rate", "2026-11", ())] == 0.0  # its one claim is open
    assert bbb[("small_timeliness", "2026-11", ())] == 0.0  # and breached
    everyone = _values(Scope(tenant_ids=None), [NOV])
    assert everyone[("closure_rate", "2026-11", ())] == pytest.approx(100 * 2 / 6)
    by_tenant = _values(Scope(tenant_ids=None), [NOV], ("tenant",))
    assert by_tenant[("closure_rate", "2026-11", (str(kpi_world.acme.id),))] == pytest.approx(40.0)


def test_quarter_periods(kpi_world: KpiWorld, kpi_snapshot: snapshot.SnapshotInfo):
    values = _values(Scope(tenant_ids=(kpi_world.acme.id,)), [Period.parse("2026-Q4")])
    assert values[("closure_rate", "2026-Q4", ())] == pytest.approx(100 * 3 / 6)  # K0..K5
    assert Period.parse("2026-Q4").end == dt.date(2027, 1, 1)
    assert [p.label for p in Period.parse("2026-02").trailing(3)] == ["2025-12", "2026-01", "2026-02"]
