"""GET /api/v1/kpi, /dashboard and its CSV: roles, tenants, regulators, periods, drill-down."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.kpi.snapshot import SnapshotInfo
from tests.apps import shared_app
from tests.kpi.conftest import KpiWorld
from tests.web.conftest import sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why


def _client(username: str) -> TestClient:
    client = TestClient(shared_app())
    sign_in(client, username)
    return client


def _item(body: dict, kpi: str, key: str | None = None) -> dict:  # type: ignore[type-arg]
    return next(i for i in body["items"] if i["kpi"] == kpi and i["key"] == key)


def test_api_values_for_the_own_tenant(kpi_world: KpiWorld, kpi_snapshot: SnapshotInfo):
    client = _client(kpi_world.quality)
    body = client.get("/api/v1/kpi", params={"period": "2026-11"}).json()
    assert body["period"] == "2026-11" and body["by"] is None
    closure = _item(body, "closure_rate")
    assert closure["value"] == pytest.approx(40.0) and closure["numerator"] == 2 and closure["denominator"] == 5
    assert closure["light"] == "misses" and closure["target"] == 95
    assert _item(body, "audit_accuracy")["status"] == "no_data" and _item(body, "audit_accuracy")["value"] is None
    assert _item(body, "satisfaction")["status"] == "no_data"  # no survey answered yet
    assert _item(body, "large_timeliness")["status"] == "no_data"
    by_region = client.get("/api/v1/kpi", params={"period": "2026-11", "by": "region"}).json()
    assert _item(by_region, "closure_rate", "310000")["value"] == 0.0
    assert _item(by_region, "closure_rate", "310000")["label"] == "上海市"
    # A tenant user asking for another insurer still gets their own figures.
    other = client.get("/api/v1/kpi", params={"period": "2026-11", "tenant": "BBB"}).json()
    assert _item(other, "closure_rate")["denominator"] == 5


def test_api_csv_export(kpi_world: KpiWorld, kpi_snapshot: SnapshotInfo):
    response = _client(kpi_world.quality).get(
        "/api/v1/kpi", params={"period": "2026-11", "by": "line", "format": "csv"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    closure = next(r for r in rows if r["kpi"] == "closure_rate" and r["key"] == "motor")
    assert float(closure["value"]) == pytest.approx(40.0) and closure["label"] == "车险"


def test_api_refuses_other_roles_and_bad_input(kpi_world: KpiWorld, kpi_snapshot: SnapshotInfo, world):
    assert _client(kpi_world.adjuster).get("/api/v1/kpi").status_code == 403
    integration = world.api_key(kpi_world.acme, Role.INTEGRATION)
    assert TestClient(shared_app()).get("/api/v1/kpi", headers={"X-API-Key": integration}).status_code == 403
    assert TestClient(shared_app()).get("/api/v1/kpi").status_code == 401
    client = _client(kpi_world.supervisor)
    # One error body: the refused input is named in ``problems``.
    for params, field in (({"period": "2026-13"}, "period"), ({"by": "colour"}, "by"), ({"by": "tenant"}, "by")):
        refused = client.get("/api/v1/kpi", params=params)
        assert refused.status_code == 422
        assert [p["field"] for p in refused.json()["problems"]] == [field], refused.json()
    bad_month = client.get("/api/v1/kpi/alerts", params={"period": "2026-13"})
    assert bad_month.status_code == 422 and bad_month.json()["problems"][0]["field"] == "period"
    assert client.get("/api/v1/kpi/catalogue").status_code == 200


def test_api_without_a_snapshot_is_503(kpi_world: KpiWorld):
    assert _client(kpi_world.quality).get("/api/v1/kpi").status_code == 503


def test_regulator_sees_every_insurer_and_filters_one(kpi_world: KpiWorld, kpi_snapshot: SnapshotInfo):
    client = _client(kpi_world.regulator)
    everyone = client.get("/api/v1/kpi", params={"period": "2026-11"}).json()
    assert _item(everyone, "closure_rate")["denominator"] == 6
    bbb = client.get("/api/v1/kpi", params={"period": "2026-11", "tenant": "BBB"}).json()
    assert _item(bbb, "closure_rate")["denominator"] == 1
    by_tenant = client.get("/api/v1/kpi", params={"period": "2026-11", "by": "tenant"}).json()
    assert _item(by_tenant, "closure_rate", str(kpi_world.acme.id))["label"] == "ACME · 示例保险"


def test_dashboard_page_roles_and_content(kpi_world: KpiWorld, kpi_snapshot: SnapshotInfo):
    adjuster = _client(kpi_world.adjuster)
    assert adjuster.get("/dashboard").status_code == 403
    assert 'id="nav-dashboard"' not in adjuster.get("/claims").text
    page = _client(kpi_world.quality).get("/dashboard", params={"period": "2026-11"})
    assert page.status_code == 200
    html = page.text
    assert "品质看板" in html and 'id="nav-dashboard"' in html
    assert 'id="kpi-closure_rate"' in html and "40.0%" in html
    assert 'data-light="misses"' in html
    assert "/static/vendor/echarts.min.js" in html
    assert "另一保险" not in html and "BBB" not in html
    drill = _client(kpi_world.quality).get("/dashboard", params={"period": "2026-11", "by": "region"}).text
    assert "上海市" in drill and "region=310000" in drill
    english = _client(kpi_world.quality).get("/dashboard", params={"period": "2026-11", "lang": "en"}).text
    assert "Quality dashboard" in english and "Closure rate" in english
    anonymous = TestClient(shared_app()).get("/dashboard", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_dashboard_regulator_filter_and_csv(kpi_world: KpiWorld, kpi_snapshot: SnapshotInfo):
    client = _client(kpi_world.regulator)
    html = client.get("/dashboard", params={"period": "2026-11"}).text
    assert 'id="f-tenant"' in html and "ACME · 示例保险" in html and "BBB · 另一保险" in html
    exported = client.get("/dashboard.csv", params={"period": "2026-11", "tenant": "BBB", "by": "region"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    overall = next(r for r in rows if r["kpi"] == "closure_rate" and r["dimension"] == "")
    assert overall["denominator"] == "1.0" or float(overall["denominator"]) == 1


def test_dashboard_without_snapshot_says_so(kpi_world: KpiWorld):
    html = _client(kpi_world.quality).get("/dashboard").text
    assert "还没有快照" in html or "No snapshot" in html
