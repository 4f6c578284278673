"""Loading next year's arrangement: validated with line numbers, audited, and open deadlines recomputed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.calendar import service as calendar_service
from claimwatch.cli import app
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla.models import SlaClockEvent
from tests.factories import reported
from tests.sla.helpers import clocks, local, post_events

# A made-up 2027 arrangement for tests (the real one comes from the State Council notice).
YEAR_2027 = """\
year: 2027
source: 测试用安排
holidays:
  - {date: 2027-01-01, name: 元旦}
  - {from: 2027-02-05, to: 2027-02-11, name: 春节}
workdays:
  - {date: 2027-02-13, name: 春节调休}
"""


def _late_november_claim(client, tenant) -> None:
    # The advance-payment clock (60 calendar days, art. 25) of a claim of 2026-11-20 ends in 2027.
    event = reported("r", "Y-1", amount="90000")
    event["occurred_at"] = "2026-11-20T10:00:00+08:00"
    post_events(client, tenant.api_key, [event])


def test_a_deadline_in_a_year_without_data_is_provisional_then_recomputed(client, world, tmp_path):
    tenant = world.tenant()
    _late_november_claim(client, tenant)
    large = clocks(tenant.id, "advance_payment")[0]
    # 2027 is not loaded: counted on the statutory holidays and weekends (暂定), not refused.
    assert large.calendar_gap is None and large.yellow_due_at == local(2027, 1, 20)
    view = client.get("/api/v1/claims/Y-1/clocks", headers={"X-API-Key": tenant.api_key}).json()
    assert {c["policy"]: c["provisional"] for c in view}["advance_payment"] is True
    assert {c["policy"]: c["provisional"] for c in view}["timeliness_large"] is False

    path = tmp_path / "2027.yaml"
    path.write_text(YEAR_2027, encoding="utf-8")
    result = CliRunner().invoke(app, ["calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "open deadlines recomputed" in result.output

    large = clocks(tenant.id, "advance_payment")[0]
    assert large.calendar_gap is None
    # 60 days after 2026-11-20 end on Tue 2027-01-19 (a working day); 75 on Wed 2027-02-03.
    assert large.yellow_due_at == local(2027, 1, 20)
    assert large.red_due_at == local(2027, 2, 4)
    view = client.get("/api/v1/claims/Y-1/clocks", headers={"X-API-Key": tenant.api_key}).json()
    assert not any(c["provisional"] or c["red_provisional"] for c in view)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        log = session.execute(select(SlaClockEvent).where(SlaClockEvent.kind == "recomputed")).scalars().all()
        audited = (
            session.execute(select(AuditEntry).where(AuditEntry.kind == "config.calendar").order_by(AuditEntry.seq))
            .scalars()
            .all()
        )
    assert any(e.clock_id == large.id and "calendar 2027 loaded" in (e.reason or "") for e in log)
    assert len(audited) == 1 and '"year":2027' in (audited[0].payload or "")
    with unit_of_work(TenantContext.system_context()) as session:
        calendar = calendar_service.get_calendar(session)
    assert calendar.is_working_day(calendar_service.dt.date(2027, 2, 13))  # the make-up Saturday
    assert not calendar.is_working_day(calendar_service.dt.date(2027, 2, 8))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.yaml", YEAR_2027.replace("2027-01-01", "2026-01-01"), "bad.yaml:4: 2026-01-01 is not in 2027"),
        (
            "bad.yaml",
            YEAR_2027.replace("2027-02-13", "2027-02-15"),
            "bad.yaml:7: make-up working day 2027-02-15 is a weekday",
        ),
        ("bad.yaml", YEAR_2027 + "  - {date: 2027-02-08, name: x}\n", "bad.yaml:8: 2027-02-08 is listed both"),
        ("bad.yaml", YEAR_2027.replace("name: 元旦", "nmae: 元旦"), "bad.yaml:4: unknown key 'nmae'"),
        ("bad.csv", "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-13,weekday,x\n", "bad.csv:3: kind 'weekday'"),
        ("bad.csv", "date,kind\n2027-13-01,holiday\n", "bad.csv:2: date '2027-13-01' is not a date"),
    ],
)
def test_bad_calendar_files_are_refused_naming_the_line(database, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["calendar", "load", str(path)])
    assert result.exit_code == 1
    assert message in result.output.replace(str(tmp_path) + "/", "")
    with unit_of_work(TenantContext.system_context()) as session:
        official = [y for y in calendar_service.year_summaries(session) if not y["provisional"]]
        assert official[0]["year"] == 2026


def test_csv_loads_too_and_the_api_is_for_the_platform_operator_only(client, world, tmp_path, monkeypatch):
    platform = world.tenant("PLATFORM")
    insurer = world.tenant("INS")
    platform_admin = world.api_key(platform, Role.ADMIN)
    insurer_admin = world.api_key(insurer, Role.ADMIN)
    csv_text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-13,workday,春节调休\n"
    files = {"file": ("2027.csv", csv_text.encode(), "text/csv")}

    refused = client.post("/api/v1/calendar/years", files=files, headers={"X-API-Key": platform_admin})
    assert refused.status_code == 403 and "platform operator" in refused.json()["detail"]
    monkeypatch.setattr(get_settings(), "platform_tenant", "PLATFORM")
    assert client.post("/api/v1/calendar/years", files=files, headers={"X-API-Key": insurer_admin}).status_code == 403
    bad = client.post(
        "/api/v1/calendar/years",
        files={"file": ("x.csv", b"date,kind\n2027-01-01,sometimes\n", "text/csv")},
        headers={"X-API-Key": platform_admin},
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "file"
    assert bad.json()["detail"].startswith("x.csv:2:")
    loaded = client.post("/api/v1/calendar/years", files=files, headers={"X-API-Key": platform_admin})
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["year"] == 2027 and loaded.json()["workdays"] == 1
    years = client.get("/api/v1/calendar/years", headers={"X-API-Key": insurer_admin}).json()
    official = [y for y in years if not y["provisional"]]
    assert official[0]["year"] == 2027 and official[0]["source"] == "2027.csv"
    assert years[0]["provisional"] and years[0]["year"] > 2027


def test_business_hours_are_per_tenant_and_validated(client, world):
    tenant = world.tenant()
    admin = world.api_key(tenant, Role.ADMIN)
    adjuster = world.api_key(tenant, Role.ADJUSTER)
    url = "/api/v1/calendar/business-hours"
    assert client.get(url, headers={"X-API-Key": admin}).json() == {"intervals": "09:00-12:00,13:30-17:30"}
    bad = client.put(url, json={"intervals": "09:00-12:00,11:00-18:00"}, headers={"X-API-Key": admin})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "intervals"
    assert client.put(url, json={"intervals": "08:30-17:00"}, headers={"X-API-Key": adjuster}).status_code == 403
    changed = client.put(url, json={"intervals": "8:30-12:00, 13:00-17:00"}, headers={"X-API-Key": admin})
    assert changed.status_code == 200 and changed.json()["intervals"] == "08:30-12:00,13:00-17:00"
    other = world.tenant("OTHER")
    other_admin = world.api_key(other, Role.ADMIN)
    assert client.get(url, headers={"X-API-Key": other_admin}).json()["intervals"] == "09:00-12:00,13:30-17:30"


def test_policy_files_are_validated_naming_the_line(tmp_path: Path, database):
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "policies:\n  - code: x\n    unit: hours\n    yellow: 48\n    red: 24\n"
        "    start: {events: [reported]}\n    stop: {statuses: [closed]}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["sla", "check", str(bad)])
    assert result.exit_code == 1 and "p.yaml:4: yellow (48) falls after red (24)" in result.output
    bad.write_text(
        "policies:\n  - code: x\n    unit: fortnights\n    yellow: 1\n    red: 2\n"
        "    start: {events: [reported]}\n    stop: {statuses: [closed]}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["sla", "check", str(bad)])
    assert result.exit_code == 1 and "p.yaml:3: unknown unit 'fortnights'" in result.output
    bad.write_text(
        "policies:\n  - code: x\n    unit: hours\n    yellow: 1\n    red: 2\n"
        "    start: {events: [reported]}\n    stop: {statuses: [finished]}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["sla", "check", str(bad)])
    assert result.exit_code == 1 and "p.yaml:7: unknown status 'finished'" in result.output
    override = tmp_path / "ACME.yaml"
    override.write_text("overrides:\n  timeliness_small:\n    yellow: 60\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["sla", "check", "--overrides", str(override)])
    assert result.exit_code == 1 and "ACME.yaml:3: yellow (60) falls after red (48)" in result.output
    assert CliRunner().invoke(app, ["sla", "check"]).exit_code == 0


def test_tenant_overrides_change_the_budget(client, world, tmp_path, monkeypatch):
    from claimwatch.sla import loader as policies

    (tmp_path / "ACME.yaml").write_text("overrides:\n  timeliness_small:\n    yellow: 12\n    red: 20\n", "utf-8")
    monkeypatch.setattr(get_settings(), "policy_overrides_dir", tmp_path)
    policies.policies_for_tenant.cache_clear()
    try:
        acme = world.tenant("ACME")
        other = world.tenant("OTHER")
        post_events(client, acme.api_key, [reported("r", "O-1", amount="100")])
        post_events(client, other.api_key, [reported("r", "O-1", amount="100")])
        assert clocks(acme.id, "timeliness_small")[0].yellow_due_at == local(2026, 11, 2, 21)
        assert clocks(other.id, "timeliness_small")[0].yellow_due_at == local(2026, 11, 3, 9)
    finally:
        policies.policies_for_tenant.cache_clear()
