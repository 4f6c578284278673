"""Process analytics over claimwatch's own case events, on SQLite and PostgreSQL; API and CLI."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from claimwatch.analytics import process, service
from claimwatch.analytics.xes import read_xes, write_xes
from claimwatch.auth.models import Role
from claimwatch.cli import app as cli_app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.generator import DemoSpec, iter_claim_events
from tests.analytics.pm4py_reference import assert_same_as_pm4py, pm4py_results
from tests.factories import HAPPY_PATH, PASSWORD, reported, transition

REWORK_PATH = [
    "accepted",
    "initial_review",
    "awaiting_materials",
    "initial_review",
    "awaiting_materials",
    "initial_review",
    "investigation",
    "assessment",
    "verification",
    "approval",
    "payment",
    "closed",
]


def _claims(client, tenant, paths, line="motor", start=0):
    events = []
    for index, path in enumerate(paths, start=start):
        number = f"CLM-{tenant.code}-{index}"
        events.append(reported(f"{number}-r", number, line=line, hours=index))
        events += [transition(f"{number}-{i}", number, status, hours=index + i + 1) for i, status in enumerate(path)]
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


def test_case_events_become_an_event_log(client, world, database):
    tenant, other = world.tenant("ACME"), world.tenant("OTHR")
    _claims(client, tenant, [HAPPY_PATH, HAPPY_PATH, REWORK_PATH])
    _claims(client, other, [HAPPY_PATH[:3]])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        log = service.claims_event_log(session, tenant.id)
    assert log.cases == 3 and log.events == 2 * 9 + 13
    assert set(log.frame["case"]) == {"CLM-ACME-0", "CLM-ACME-1", "CLM-ACME-2"}
    assert process.variant_counts(log) == {("reported", *HAPPY_PATH): 2, ("reported", *REWORK_PATH): 1}
    rework = {row["activity"]: row for row in process.rework(log).to_dicts()}
    assert rework["awaiting_materials"]["rework_cases"] == 1 and rework["awaiting_materials"]["extra"] == 1
    assert rework["initial_review"]["extra"] == 2
    dfg = {(row["src"], row["dst"]): row for row in process.directly_follows(log).to_dicts()}
    assert dfg[("reported", "accepted")]["count"] == 3 and dfg[("reported", "accepted")]["mean_s"] == 3600.0
    stats = process.duration_stats(log)
    assert stats["max"] == 12 * 3600.0 and stats["min"] == 8 * 3600.0


def test_generated_claims_equal_pm4py(tmp_path):
    pytest.importorskip("pm4py")
    log = service.log_from_claim_events(iter_claim_events(DemoSpec(claims=400, seed=11)))
    assert log.cases == 400
    target = tmp_path / "claims.xes.gz"
    write_xes(log, target)
    again = read_xes(target)
    assert again.frame.drop("resource").equals(log.frame.drop("resource"))
    assert_same_as_pm4py(again, pm4py_results(target))
    assert process.rework_cases(log) > 0  # the generator walks materials loops and reopenings


def _login(client, username):
    from claimwatch.web.security import CSRF_FIELD

    token = client.get("/login").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303


def test_api_roles_tenants_filters_and_xes_download(client, world):
    tenant, other = world.tenant("ACME"), world.tenant("OTHR")
    _claims(client, tenant, [HAPPY_PATH, REWORK_PATH])
    _claims(client, tenant, [HAPPY_PATH[:4]], line="medical", start=2)
    _claims(client, other, [HAPPY_PATH])
    quality = {"X-API-Key": world.api_key(tenant, Role.QUALITY_MANAGER)}

    for role in (Role.ADJUSTER, Role.COMPLAINT_HANDLER, Role.INTEGRATION):
        headers = {"X-API-Key": world.api_key(tenant, role)}
        assert client.get("/api/v1/analytics/process", headers=headers).status_code == 403
        assert client.get("/api/v1/analytics/process.xes", headers=headers).status_code == 403
    for role in (Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN):
        headers = {"X-API-Key": world.api_key(tenant, role)}
        assert client.get("/api/v1/analytics/process", headers=headers).status_code == 200
    assert client.get("/api/v1/analytics/process").status_code == 401

    body = client.get("/api/v1/analytics/process", headers=quality).json()
    assert body["cases"] == 3 and body["variant_count"] == 3
    assert {row["activity"] for row in body["rework"]} == {"awaiting_materials", "initial_review"}
    assert body["bottlenecks"] and body["dfg"] and body["duration_histogram"]
    motor = client.get("/api/v1/analytics/process", params={"line": "motor"}, headers=quality).json()
    assert motor["cases"] == 2
    later = client.get(
        "/api/v1/analytics/process", params={"since": "2026-11-02T09:30:00+08:00"}, headers=quality
    ).json()
    assert later["cases"] == 2  # reported at 09:00, 10:00 and 11:00 (+08:00)
    naive = client.get("/api/v1/analytics/process", params={"since": "2026-11-02T09:30:00"}, headers=quality)
    assert naive.status_code == 422 and naive.json()["problems"][0]["field"] == "since"
    other = client.get("/api/v1/analytics/process", params={"tenant": "OTHR"}, headers=quality)
    assert other.status_code == 404
    assert other.json()["problems"] == [{"field": "tenant", "message": "no insurer 'OTHR'"}]
    assert client.get("/api/v1/analytics/process", params={"tenant": "ACME"}, headers=quality).status_code == 200

    download = client.get("/api/v1/analytics/process.xes", headers=quality)
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    log = read_xes(io.BytesIO(download.content))
    assert set(log.frame["case"]) == {"CLM-ACME-0", "CLM-ACME-1", "CLM-ACME-2"}
    assert client.get("/api/v1/analytics/process.xes", params={"tenant": "OTHR"}, headers=quality).status_code == 404

    world.user("cbirc", Role.REGULATOR, None)
    _login(client, "cbirc")
    everyone = client.get("/api/v1/analytics/process").json()
    assert everyone["cases"] == 4
    one = client.get("/api/v1/analytics/process", params={"tenant": "OTHR"}).json()
    assert one["cases"] == 1
    assert client.get("/api/v1/analytics/process", params={"tenant": "NOPE"}).status_code == 404
    xes = read_xes(io.BytesIO(client.get("/api/v1/analytics/process.xes").content))
    assert "OTHR/CLM-OTHR-0" in set(xes.frame["case"])


def test_cli_summary_export_and_bad_file(client, world, database, tmp_path):
    tenant = world.tenant("ACME")
    _claims(client, tenant, [HAPPY_PATH, REWORK_PATH])
    runner = CliRunner()
    out = tmp_path / "acme.xes.gz"
    result = runner.invoke(
        cli_app, ["--database", database.url, "analytics", "export-xes", "--tenant", "ACME", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 cases, 22 events" in result.output
    summary = runner.invoke(cli_app, ["analytics", "process", str(out)])
    assert summary.exit_code == 0, summary.output
    assert "2 cases, 22 events" in summary.output and "bottlenecks" in summary.output
    assert "awaiting_materials" in summary.output
    unknown = runner.invoke(
        cli_app, ["--database", database.url, "analytics", "export-xes", "--tenant", "NOPE", "--out", str(out)]
    )
    assert unknown.exit_code == 1 and "unknown tenant" in unknown.output
    bad = tmp_path / "bad.xes"
    bad.write_text('<log xmlns="http://www.xes-standard.org/">\n<trace>\n<event>\n</trace>\n</log>\n')
    failed = runner.invoke(cli_app, ["analytics", "process", str(bad)])
    assert failed.exit_code == 1
    assert f"{bad}:4:3: malformed XML: mismatched tag" in failed.output
