"""The sweep: lights turn as deadlines pass; each level escalates once; red files with the regulator."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import func, select

from claimwatch import worker
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import StaffNotification
from claimwatch.sla import jobs
from claimwatch.sla.models import Escalation, RegulatorFiling
from tests.factories import reported
from tests.sla.helpers import clocks, local, post_events


def _count(tenant_id: int, model: type) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_yellow_then_red_each_fire_once(client, world):
    tenant = world.tenant()
    post_events(client, tenant.api_key, [reported("r", "S-1", org_code=tenant.branch_code, amount="3000")])

    assert jobs.sweep(now=local(2026, 11, 3, 8)).checked == 0  # nothing due yet: 24 h end at 09:00
    first = jobs.sweep(now=local(2026, 11, 3, 10))
    assert (first.yellow, first.red) == (1, 0)
    small = clocks(tenant.id, "timeliness_small")[0]
    assert small.light == "yellow" and small.escalated == 1 and small.breached_at == local(2026, 11, 3, 9)
    assert small.next_check_at == local(2026, 11, 4, 9)  # the red threshold
    assert jobs.sweep(now=local(2026, 11, 3, 11)).yellow == 0  # fired once

    second = jobs.sweep(now=local(2026, 11, 4, 10))
    assert second.red == 1
    assert _count(tenant.id, RegulatorFiling) == 1
    # The red sweep also turns the materials-notice clock (3 days) yellow.
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        levels = sorted(session.execute(select(Escalation.level, Escalation.clock_id)).all())
        notices = session.execute(select(StaffNotification.kind, StaffNotification.recipient_role)).all()
    assert [level for level, _ in levels].count("red") == 1
    assert ("sla_yellow", "supervisor") in [tuple(n) for n in notices]
    for _ in range(3):
        jobs.sweep(now=local(2026, 11, 6, 10))
    assert _count(tenant.id, RegulatorFiling) == 1 + 0  # materials_notice red is 5 days: not yet
    # 5 days end on Sat 11-07, which rolls to the end of Mon 11-09.
    jobs.sweep(now=local(2026, 11, 9, 23))
    assert _count(tenant.id, RegulatorFiling) == 1
    jobs.sweep(now=local(2026, 11, 10, 10))
    filings_after = _count(tenant.id, RegulatorFiling)
    jobs.sweep(now=local(2026, 11, 10, 10))
    assert _count(tenant.id, RegulatorFiling) == filings_after == 2

    admin = world.api_key(tenant, Role.ADMIN)
    verified = client.get("/api/v1/audit/verify", headers={"X-API-Key": admin})
    assert verified.json()["ok"] is True


def test_a_close_after_red_still_files_and_queue_and_export_show_it(client, world):
    tenant = world.tenant()
    supervisor = world.api_key(tenant, Role.SUPERVISOR)
    post_events(client, tenant.api_key, [reported("r", "S-2", org_code=tenant.branch_code, amount="100")])
    post_events(
        client,
        tenant.api_key,
        [
            {
                "event_id": f"t{i}",
                "claim_number": "S-2",
                "type": "transition",
                "to_status": s,
                "occurred_at": f"2026-11-05T1{i}:00:00+08:00",
            }
            for i, s in enumerate(["accepted", "withdrawn"])
        ][:1]
        + [
            {
                "event_id": "w",
                "claim_number": "S-2",
                "type": "transition",
                "to_status": "withdrawn",
                "reason": "客户撤案",
                "occurred_at": "2026-11-05T12:00:00+08:00",
            }
        ],
    )
    small = clocks(tenant.id, "timeliness_small")[0]
    assert small.state == "stopped" and small.outcome == "breached" and small.light == "red"
    result = jobs.sweep(now=local(2026, 11, 5, 13))
    assert result.red >= 1
    post_events(client, tenant.api_key, [reported("r2", "S-3", org_code=tenant.branch_code, amount="100")])
    jobs.sweep(now=local(2026, 11, 5, 14))
    # The working queue holds cases still open; the withdrawn one is there only in the full list.
    working = client.get("/api/v1/sla/queue", headers={"X-API-Key": supervisor})
    assert working.status_code == 200
    assert {i["claim_number"] for i in working.json()} == {"S-3"}
    queue = client.get("/api/v1/sla/queue?include_acknowledged=true", headers={"X-API-Key": supervisor})
    items = [i for i in queue.json() if i["claim_number"] == "S-2"]
    assert [i["level"] for i in items if i["policy"] == "timeliness_small"] == ["yellow", "red"]
    fired = [i["fired_at"] for i in queue.json()]
    assert fired == sorted(fired)

    ack = client.post(
        f"/api/v1/sla/escalations/{items[0]['id']}/acknowledge",
        json={"note": "已督办"},
        headers={"X-API-Key": supervisor},
    )
    assert ack.status_code == 204
    twice = client.post(
        f"/api/v1/sla/escalations/{items[0]['id']}/acknowledge", json={}, headers={"X-API-Key": supervisor}
    )
    assert twice.status_code == 409
    everything = client.get("/api/v1/sla/queue?include_acknowledged=true", headers={"X-API-Key": supervisor}).json()
    done = next(i for i in everything if i["id"] == items[0]["id"])
    assert done["status"] == "acknowledged" and done["note"] == "已督办"
    open_one = client.get("/api/v1/sla/queue", headers={"X-API-Key": supervisor}).json()[0]
    client.post(f"/api/v1/sla/escalations/{open_one['id']}/acknowledge", json={}, headers={"X-API-Key": supervisor})
    remaining = client.get("/api/v1/sla/queue", headers={"X-API-Key": supervisor}).json()
    assert open_one["id"] not in [i["id"] for i in remaining]
    adjuster = world.api_key(tenant, Role.ADJUSTER)
    assert client.get("/api/v1/sla/queue", headers={"X-API-Key": adjuster}).status_code == 403

    exported = client.get("/api/v1/sla/filings?format=csv", headers={"X-API-Key": supervisor})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows and rows[0]["赔案号"] == "S-2" and rows[0]["保险公司"] == "示例保险"
    assert "138" not in exported.text  # no personal data in a filing
    as_json = client.get("/api/v1/sla/filings?format=json", headers={"X-API-Key": supervisor}).json()
    assert as_json[0]["claim_number"] == "S-2"
    bad = client.get("/api/v1/sla/filings?format=xml", headers={"X-API-Key": supervisor})
    assert bad.status_code == 422

    other = world.tenant("OTHER")
    other_supervisor = world.api_key(other, Role.SUPERVISOR)
    assert client.get("/api/v1/sla/filings", headers={"X-API-Key": other_supervisor}).json() == []
    stranger = client.post(
        f"/api/v1/sla/escalations/{items[1]['id']}/acknowledge", json={}, headers={"X-API-Key": other_supervisor}
    )
    assert stranger.status_code == 404


def test_concurrent_sweepers_never_double_escalate(client, world, database):
    tenants = [world.tenant(f"T{i}") for i in range(2)]
    for tenant in tenants:
        post_events(client, tenant.api_key, [reported(f"r{n}", f"K-{n}", amount="3000") for n in range(60)])
    now = local(2026, 11, 20, 12)
    errors: list[BaseException] = []
    results: list[jobs.SweepResult] = []

    def run() -> None:
        try:
            results.append(jobs.sweep(now=now, batch_size=7))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for tenant in tenants:
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            per_level = dict(session.execute(select(Escalation.level, func.count()).group_by(Escalation.level)).all())
            notices = session.execute(select(func.count()).select_from(StaffNotification)).scalar_one()
        # Every claim: small (red by now) and materials notice (red: 18 days) → 2 yellow + 2 red each.
        assert per_level == {"yellow": 120, "red": 120}
        assert notices == 240
    assert sum(r.yellow for r in results) == 240 and sum(r.red for r in results) == 240


def test_worker_runs_passes_and_survives_a_failing_one(world, client, monkeypatch):
    tenant = world.tenant()
    post_events(client, tenant.api_key, [reported("r", "W-1", amount="3000")])
    calls = []
    real_sweep = jobs.sweep

    def flaky(now=None, batch_size=None):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real_sweep(now=local(2026, 11, 10), batch_size=batch_size)

    monkeypatch.setattr(jobs, "sweep", flaky)
    seen: list[jobs.SweepResult] = []
    assert worker.run(interval=0.01, passes=2, on_pass=seen.append, deliver=False, kpi=False) == 2
    assert len(calls) == 2 and seen[0].yellow >= 1


@pytest.mark.parametrize("bad", ["2026-11-20T10:00:00", "yesterday"])
def test_cli_sweep_refuses_a_time_without_offset(bad, database):
    from typer.testing import CliRunner

    from claimwatch.cli import app

    result = CliRunner().invoke(app, ["sla", "sweep", "--now", bad])
    assert result.exit_code == 1
    assert "--now" in result.output


def test_a_supervisor_of_one_branch_neither_sees_nor_acknowledges_another_branchs_cases(client, world):
    from claimwatch.auth import service as auth_service
    from claimwatch.auth.principal import Principal
    from claimwatch.sla import queries
    from claimwatch.sla import service as sla_service
    from claimwatch.tenancy import repository as tenancy_repository
    from claimwatch.tenancy import service as tenancy_service

    tenant = world.tenant()
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        tenancy_service.add_org_unit(
            session, tenant_id=tenant.id, code="ACME-B2", name="浙江分公司", parent_code="ACME-HQ", region_code="330000"
        )
        b2 = tenancy_repository.org_unit_by_code(session, "ACME-B2")
        assert b2 is not None
        user = auth_service.create_user(
            session,
            username="zj.supervisor",
            password="correct-horse-battery",
            role=Role.SUPERVISOR,
            tenant_id=tenant.id,
            display_name="浙江主管",
            org_unit_id=b2.id,
        )
        principal = Principal(role=Role.SUPERVISOR, tenant_id=tenant.id, actor="user:zj", user_id=user.id)
    post_events(client, tenant.api_key, [reported("r", "B1-1", org_code=tenant.branch_code, amount="300")])
    jobs.sweep(now=local(2026, 11, 3, 12))
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert queries.queue_view(session, principal, "zh") == []
        escalation_id = session.execute(select(Escalation.id)).scalars().first()
        assert escalation_id is not None
    with pytest.raises(sla_service.EscalationNotFound):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            sla_service.acknowledge(session, principal, escalation_id, "越权")
