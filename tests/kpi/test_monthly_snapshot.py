"""`claimwatch kpi snapshot` writes the monthly summary, the API and pages read it, and its months are the
platform zone's (Asia/Shanghai) as the facts' are, not UTC's."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch.kpi import engine, monthly, service
from claimwatch.kpi.columns import MONTHLY_FOLDER, MONTHLY_MANIFEST, monthly_view, open_snapshot
from claimwatch.kpi.engine import Period, Scope, compute
from tests.apps import shared_app
from tests.kpi.conftest import KpiWorld, take
from tests.kpi.helpers import close, ingest, local, report, steps
from tests.web.conftest import sign_in

pytestmark = pytest.mark.sqlite_only  # pages: tests/conftest.py says why


def _facts_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables the engine scans as facts for KPIs with a period column (recorded from here on)."""
    scanned: list[str] = []
    original = engine._shared_scan  # noqa: SLF001 - spied on

    def spy(con: Any, plans: Any, members: Any, *args: Any) -> Any:
        scanned.append(plans[members[0]].measure.source)
        return original(con, plans, members, *args)

    monkeypatch.setattr(engine, "_shared_scan", spy)
    return scanned


def test_the_snapshot_writes_the_monthly_summary_and_the_api_reads_it(
    kpi_world: KpiWorld, monkeypatch: pytest.MonkeyPatch
):
    info = take()
    assert (info.directory / MONTHLY_FOLDER / MONTHLY_MANIFEST).exists()
    con = open_snapshot(info.directory)
    try:
        views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        con.close()
    assert {monthly_view("claims", "reported_at"), monthly_view("status_changes", "occurred_at")} <= views
    scanned = _facts_scans(monkeypatch)
    client = TestClient(shared_app())
    sign_in(client, kpi_world.quality)
    body = client.get("/api/v1/kpi", params={"period": "2026-11"}).json()
    closure = next(i for i in body["items"] if i["kpi"] == "closure_rate" and i["key"] is None)
    assert closure["value"] == pytest.approx(40.0) and closure["numerator"] == 2 and closure["denominator"] == 5
    proactive = next(i for i in body["items"] if i["kpi"] == "proactive_notification_rate" and i["key"] is None)
    assert proactive["status"] != "no_data"
    assert scanned == ["complaint_exposure"]  # every other KPI with a period column came from the summary
    scanned.clear()
    page = client.get("/dashboard", params={"period": "2026-11"})
    assert page.status_code == 200 and set(scanned) == {"complaint_exposure"}  # the month, then the trend


def test_months_are_the_platform_zone_s_in_the_summary_as_in_the_facts(kpi_world: KpiWorld, client: TestClient):
    """Reported at 23:30 on 31 October and at 00:30 on 1 November, Shanghai time: the second is 16:30 UTC on
    31 October, and still a November claim (as every page shows it)."""
    last_of_october, first_of_november = local(2026, 10, 31, 23, 30), local(2026, 11, 1, 0, 30)
    ingest(
        client,
        kpi_world.acme,
        [
            report("m1", "M1", last_of_october, org_code=kpi_world.acme.branch_code),
            report("m2", "M2", first_of_november, org_code=kpi_world.acme.branch_code),
            *close("M2", first_of_november, steps(1, 8)),
        ],
    )
    info = take()
    acme = Scope(tenant_ids=(kpi_world.acme.id,))
    periods = [Period.parse("2026-10"), Period.parse("2026-11")]
    served = [k for k in service.available_kpis() if monthly.shape(k) is not None]
    with service.opened() as snap:
        summed = compute(snap.con, served, periods, acme, ("org",), snap.local_now)
        facts_con = open_snapshot(info.directory, summaries=False)
        try:
            facts = compute(facts_con, served, periods, acme, ("org",), snap.local_now)
            ungrouped = compute(snap.con, served, periods, acme, (), snap.local_now)
        finally:
            facts_con.close()
    assert sorted(map(repr, summed.values)) == sorted(map(repr, facts.values)) and summed.values
    closure = {v.period: v for v in ungrouped.values if v.kpi == "closure_rate"}
    assert closure["2026-10"].denominator == 2  # K0 and M1
    assert closure["2026-11"].denominator == 6 and closure["2026-11"].numerator == 3  # K1..K5 and M2; M2 closed
