"""p-chart alerts: an outlier region with enough volume raises one alert and one notice to the quality
manager; a small region, however bad its rate, never does; limits widen with less volume."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import alerts as service
from claimwatch.kpi import jobs as kpi_jobs
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period
from claimwatch.kpi.models import QualityAlert
from claimwatch.notify.models import StaffNotification
from claimwatch.sla import jobs
from tests.apps import shared_app
from tests.kpi.helpers import ingest, local, report
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

NOV = Period.parse("2026-11")
NOW = local(2026, 11, 5, 10, 1)


def test_limits_account_for_volume():
    wide, narrow = service.limits(0.1, 30, 3.0), service.limits(0.1, 3000, 3.0)
    assert wide.upper == pytest.approx(0.1 + 3 * (0.1 * 0.9 / 30) ** 0.5)
    assert narrow.upper < wide.upper and narrow.lower > wide.lower
    assert service.limits(0.0, 100, 3.0).upper == 0.0 and service.limits(0.5, 1, 3.0).upper == 1.0


@pytest.fixture
def regions(world, client: TestClient, db_snapshot: Snapshot):  # type: ignore[no-untyped-def]
    """Built once per worker and database, copied for each test (the builder writes only the database)."""
    return db_snapshot("kpi.alert_regions", lambda: _build_regions(world, client))


def _build_regions(world, client: TestClient):  # type: ignore[no-untyped-def]
    """ACME, all small claims, open: 440000 has 80 reported the evening before the sweep (none late);
    310000 has 40 reported three days before (every one late); 110000 has 3 reported three weeks before
    (late on more clocks still, but too few). BBB has a late region of its own."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    quality = world.user("qian.quality", Role.QUALITY_MANAGER, acme)
    events = [report(f"a{i}", f"A{i}", local(2026, 11, 4, 20, 0), region="440000") for i in range(80)]
    events += [report(f"b{i}", f"B{i}", local(2026, 11, 2, 9, 0), region="310000") for i in range(40)]
    events += [report(f"c{i}", f"C{i}", local(2026, 10, 12, 9, 0), region="110000") for i in range(3)]
    ingest(client, acme, events)
    ingest(client, bbb, [report(f"x{i}", f"X{i}", local(2026, 11, 4, 20, 0), region="310000") for i in range(5)])
    jobs.sweep(now=local(2026, 11, 5, 10, 0))
    return acme, bbb, quality


def _overdue(findings: list[service.Finding]) -> dict[tuple[int, str, str], service.Finding]:
    return {(f.tenant_id, f.dimension, f.unit_key): f for f in findings if f.kpi.code == "overdue_rate"}


def test_outlier_region_alerts_once_and_small_region_never(regions):  # type: ignore[no-untyped-def]
    acme, bbb, quality = regions
    snapshot.take_snapshot(now=NOW)
    result = kpi_jobs.evaluate_alerts([NOV])
    found = _overdue(result.findings)
    late = found[(acme.id, "region", "310000")]
    assert late.rate > late.limits.upper and late.count >= 30
    assert late.unit_label == "上海市" and late.period == "2026-11"
    assert (acme.id, "region", "440000") not in found
    assert (acme.id, "region", "110000") not in found  # below the minimum count of 30
    assert result.below_minimum > 0

    # The small region's rate is worse than the outlier's, and past its own (wide) limit: only the
    # minimum count keeps it quiet. With a minimum of 1 it would alarm.
    with service.kpi_service.opened() as snap:
        loose = _overdue(service.find(snap, [NOV], min_count=1).findings)
    small = loose[(acme.id, "region", "110000")]
    assert small.count < 30 and small.rate > late.rate and small.rate > small.limits.upper

    # One alert row and one notice to the quality manager, however often it is evaluated.
    kpi_jobs.evaluate_alerts([NOV])
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        alerts = session.execute(select(QualityAlert).where(QualityAlert.kpi_code == "overdue_rate")).scalars().all()
        notices = (
            session.execute(select(StaffNotification).where(StaffNotification.kind == "kpi_alert")).scalars().all()
        )
    keys = {(a.dimension, a.unit_key) for a in alerts}
    assert ("region", "310000") in keys and ("region", "110000") not in keys
    assert len([a for a in alerts if (a.dimension, a.unit_key) == ("region", "310000")]) == 1
    alert = next(a for a in alerts if a.unit_key == "310000")
    assert alert.count == late.count and alert.rate == pytest.approx(late.rate)
    assert alert.expected == pytest.approx(late.limits.expected) and alert.upper_limit == pytest.approx(
        late.limits.upper
    )
    region_notices = [n for n in notices if "overdue_rate:region:310000:2026-11" in n.dedupe_key]
    assert len(region_notices) == 1 and region_notices[0].recipient_role == "quality_manager"
    assert "上海市" in region_notices[0].subject

    # BBB's five late claims are its own business, below the minimum, and never ACME's.
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        assert session.execute(select(QualityAlert)).scalars().all() == []

    # The dashboard shows the alert to ACME's quality manager.
    client = TestClient(shared_app())
    sign_in(client, quality)
    html = client.get("/dashboard", params={"period": "2026-11"}).text
    assert 'data-kpi="overdue_rate"' in html and 'data-unit="310000"' in html
    api = client.get("/api/v1/kpi/alerts", params={"period": "2026-11"}).json()
    assert any(a["unit"] == "310000" and a["kpi"] == "overdue_rate" for a in api)


def test_worker_pass_refreshes_snapshot_and_alerts(regions, snapshot_dir):  # type: ignore[no-untyped-def]
    from claimwatch import worker

    acme, _, _ = regions
    assert snapshot.current() is None
    worker.run(interval=0.01, passes=1, sweep=False, deliver=False, kpi=True)
    assert snapshot.current() is not None  # the alert pass ran on it too (its month is today's, not November)


def test_cli_alerts_and_snapshot(regions):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from claimwatch.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["kpi", "snapshot"])
    assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["kpi", "alerts", "--period", "2026-11", "--no-refresh"])
    assert result.exit_code == 0, result.output
    assert "310000" in result.output and "new alerts" in result.output
    shown = runner.invoke(app, ["kpi", "show", "--period", "2026-11", "--tenant", "ACME", "--csv"])
    assert shown.exit_code == 0 and "closure_rate" in shown.output
