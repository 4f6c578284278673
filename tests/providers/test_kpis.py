"""The third-party KPIs (h4): the catalogue entries over the `provider_tasks` snapshot table (registered by the
wiring module, since providers sit below the KPI domain), their values, and their drill-down to the task list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import queries as kpi_queries
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period
from claimwatch.providers import service as register
from claimwatch.providers.models import ProviderTask
from claimwatch.providers.schemas import ProviderIn
from tests.apps import shared_app
from tests.factories import World, reported

CST = dt.timezone(dt.timedelta(hours=8))
OCTOBER = Period.parse("2026-10")


def test_the_catalogue_has_both_indicators_drilling_to_tasks():
    catalogue = kpi_loader.by_code()
    standard, on_time = catalogue["provider_standard_rate"], catalogue["provider_report_on_time"]
    assert (standard.source, standard.period, standard.target, standard.unit) == ("provider_tasks", "due_at", 100, "%")
    assert on_time.name_zh == "第三方报告按时率"
    assert [(part.part, part.list_name, dict(part.filters)) for part in standard.drill] == [
        ("numerator", "provider_tasks", {"due_in": "period", "standard": "1"}),
        ("denominator", "provider_tasks", {"due_in": "period", "judged": "1"}),
    ]


BAD = """kpis:
  - code: bad
    name: {zh: 坏, en: Bad}
    definition: {zh: 坏, en: Bad}
    source: %s
    period: %s
    numerator: "count(*)"
    denominator: "count(*)"
    unit: "%%"
    better: higher
    target: 1
    baseline: null
    owner: {zh: 甲, en: A}
    drill:
      list: %s
      numerator:
        label: {zh: 甲, en: a}
        filters: {%s}
"""


@pytest.mark.parametrize(
    ("source", "period", "target", "filters", "message"),
    [
        (
            "claims",
            "reported_at",
            "provider_tasks",
            "due_in: period",
            "a claims KPI cannot drill to the provider-task list",
        ),
        (
            "provider_tasks",
            "due_at",
            "claims",
            "reported_in: period",
            "a provider_tasks KPI cannot drill to the claim list",
        ),
        ("provider_tasks", "due_at", "provider_tasks", "clock: x", "unknown provider-task-list filter 'clock'"),
    ],
)
def test_a_drill_to_the_wrong_list_is_refused_with_its_line(source, period, target, filters, message):
    with pytest.raises(kpi_loader.CatalogueError, match=message) as refused:
        kpi_loader.parse_catalogue(BAD % (source, period, target, filters), "kpis.yaml")
    assert refused.value.line is not None and refused.value.line >= 14


def test_values_and_drill_down_from_the_snapshot(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    acme = world.tenant("ACME")
    client = TestClient(shared_app())
    event = reported("k-r", "K1", org_code=acme.branch_code)
    assert (
        client.post("/api/v1/events", json={"events": [event]}, headers={"X-API-Key": acme.api_key}).status_code == 201
    )
    admin = Principal(role=Role.ADMIN, tenant_id=acme.id, actor="user:admin")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        provider = register.register(session, admin, ProviderIn(code="APP-1", name="甲鉴定所", kind="appraisal_agency"))
        claim = cases_service.get_claim(session, "K1")
        sent, due = dt.datetime(2026, 10, 12, 10, tzinfo=CST), dt.datetime(2026, 10, 19, tzinfo=CST)
        for number, (status, on_time) in enumerate(
            [("reported", True), ("reported", True), ("reported", False), ("cancelled", None), ("sent", None)]
        ):
            session.add(
                ProviderTask(
                    tenant_id=acme.id, number=f"PT-202610-{number:05d}", claim_id=claim.id, provider_id=provider.id,
                    kind="appraisal", status=status, region_code=claim.region_code, line=claim.line, sent_at=sent,
                    sent_by="user:test", documents=[], level_days=5, level_unit="working_days", due_at=due,
                    on_time=on_time, standard=on_time,
                )
            )  # fmt: skip
    info = snapshot.take_snapshot(now=dt.datetime(2026, 11, 5, 10, tzinfo=CST))
    assert info.rows["provider_tasks"] == 4  # the cancelled task is not in the table
    kpis = [kpi_loader.by_code()[code] for code in ("provider_standard_rate", "provider_report_on_time")]
    with kpi_service.opened() as snap:
        scope = kpi_service.scope_for(Principal(role=Role.QUALITY_MANAGER, tenant_id=acme.id, actor="q"), snap.con)
        result = kpi_service.values(snap, scope, [OCTOBER], kpis=kpis)
        found = {value.kpi: (value.numerator, value.denominator) for value in result.values}
        assert found == {"provider_standard_rate": (2.0, 3.0), "provider_report_on_time": (2.0, 3.0)}
        links = kpi_queries.drill_links(snap, kpi_queries.DashboardQuery(period=OCTOBER), scope, kpis[0], OCTOBER, "en")
    assert [(link.count, link.records) for link in links] == [(2, "tasks"), (3, "tasks")]
    assert links[0].url == "/provider-tasks?due_from=2026-10-01&due_to=2026-10-31&standard=1"
    assert links[1].url.endswith("judged=1")
    get_settings.cache_clear()
