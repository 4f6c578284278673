"""Clocks driven by real case events through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from claimwatch.auth.models import Role
from tests.factories import HAPPY_PATH, reported, transition
from tests.sla.helpers import clocks, local, post_events


def test_a_small_claim_gets_its_clocks_and_pauses_only_while_waiting_on_the_claimant(client, world):
    tenant = world.tenant()
    post_events(
        client,
        tenant.api_key,
        [
            reported("r", "C-1", org_code=tenant.branch_code, amount="3000"),
            transition("t1", "C-1", "accepted", hours=1),
            transition("t2", "C-1", "initial_review", hours=2),
            transition("t3", "C-1", "awaiting_materials", hours=3),
        ],
    )
    by_policy = {c.policy_code: c for c in clocks(tenant.id)}
    # The amount picks the tier: < 5000 CNY is a small claim; no middle or large clock. No art. 23 decision clock
    # either: it starts when the materials are complete, not at the report (issue 15).
    assert set(by_policy) == {"timeliness_small", "materials_notice", "advance_payment"}
    small = by_policy["timeliness_small"]
    assert small.state == "paused" and small.yellow_due_at is None and small.consumed == 3 * 3600
    # The one-time notice went out: its own clock stopped, in time.
    assert by_policy["materials_notice"].state == "stopped"
    assert by_policy["materials_notice"].outcome == "met"

    post_events(client, tenant.api_key, [transition("t4", "C-1", "initial_review", hours=30)])
    small = clocks(tenant.id, "timeliness_small")[0]
    assert small.state == "running"
    # 24 h budget, 3 h used before the pause, resumed at +30 h: 21 h later.
    assert small.yellow_due_at == local(2026, 11, 4, 12)
    assert small.red_due_at == local(2026, 11, 5, 12)

    response = client.get("/api/v1/claims/C-1/clocks", headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 200
    view = {c["policy"]: c for c in response.json()}
    assert view["timeliness_small"]["periods"][0]["kind"] == "paused"
    assert view["timeliness_small"]["periods"][0]["end"] is not None
    assert view["timeliness_small"]["unit"] == "hours"


def test_large_claim_counts_working_days_and_a_late_close_stays_breached(client, world):
    tenant = world.tenant()
    post_events(client, tenant.api_key, [reported("r", "C-9", amount="80000")])
    large = clocks(tenant.id, "timeliness_large")[0]
    # Reported Mon 2026-11-02: 7 working days after it end on Wed 2026-11-11.
    assert large.yellow_due_at == local(2026, 11, 12)
    assert large.red_due_at == local(2026, 11, 21)  # 14 working days: Fri 2026-11-20 ends
    events = [transition(f"t{i}", "C-9", s, hours=24 * 12 + i) for i, s in enumerate(HAPPY_PATH)]
    post_events(client, tenant.api_key, events)
    large = clocks(tenant.id, "timeliness_large")[0]
    assert large.state == "stopped" and large.outcome == "breached"
    assert large.breached_at == local(2026, 11, 12)
    assert large.missed_by is not None and large.missed_by > 0
    decision = clocks(tenant.id, "claim_decision")[0]
    assert decision.outcome == "met"


def test_reopening_starts_a_new_cycle_and_keeps_the_first(client, world):
    tenant = world.tenant()
    key = world.api_key(tenant, Role.SUPERVISOR)
    events = [reported("r", "C-3", amount="1000")] + [
        transition(f"t{i}", "C-3", s, hours=i + 1) for i, s in enumerate(HAPPY_PATH)
    ]
    post_events(client, tenant.api_key, events)
    post_events(client, key, [transition("re", "C-3", "reopened", hours=40, reason="新证据")])
    cycles = clocks(tenant.id, "timeliness_small")
    assert [(c.cycle, c.state) for c in cycles] == [(1, "stopped"), (2, "running")]
    assert cycles[0].outcome == "met"


def test_materials_signals_pause_and_resume_the_clocks(client, world, database):
    from claimwatch.db import TenantContext, unit_of_work
    from claimwatch.sla import service as sla_service

    tenant = world.tenant()
    post_events(client, tenant.api_key, [reported("r", "C-5", amount="2000")])
    claim_id = clocks(tenant.id)[0].claim_id
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        changed = sla_service.signal(
            session, tenant.id, claim_id, "materials_requested", local(2026, 11, 2, 11), "test"
        )
    # materials_notice stops; small and advance-payment clocks pause (the decision clock has not started).
    assert changed == 3
    states = {c.policy_code: c.state for c in clocks(tenant.id)}
    assert states == {"timeliness_small": "paused", "materials_notice": "stopped", "advance_payment": "paused"}
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        sla_service.signal(session, tenant.id, claim_id, "materials_received", local(2026, 11, 3, 11), "test")
    small = clocks(tenant.id, "timeliness_small")[0]
    assert small.state == "running"
    # The notice answered: the art. 23 decision clock starts now.
    assert clocks(tenant.id, "claim_decision")[0].started_at == local(2026, 11, 3, 11)
    assert small.yellow_due_at == local(2026, 11, 4, 9)  # 2 h used, resumed at 11:00 the next day
    try:
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            sla_service.signal(session, tenant.id, claim_id, "materials_teleported", local(2026, 11, 3, 12), "t")
        raise AssertionError("an unknown signal was accepted")
    except ValueError as exc:
        assert "unknown SLA signal" in str(exc)


def test_suspension_and_extension_through_the_api(client, world):
    tenant = world.tenant()
    supervisor = world.api_key(tenant, Role.SUPERVISOR)
    adjuster = world.api_key(tenant, Role.ADJUSTER)
    # The materials reviewed and the survey begun the same morning: the decision clock starts then.
    events = [transition(f"t{i}", "C-7", s, hours=0) for i, s in enumerate(HAPPY_PATH[:3])]
    post_events(client, tenant.api_key, [reported("r", "C-7", amount="20000"), *events])
    before = clocks(tenant.id, "claim_decision")[0].yellow_due_at
    url = "/api/v1/claims/C-7/clocks/claim_decision"

    suspended = client.post(
        f"{url}/suspend",
        json={"reason": "委托第三方鉴定", "at": "2026-11-05T10:00:00+08:00"},
        headers={"X-API-Key": supervisor},
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["state"] == "suspended"
    again = client.post(f"{url}/suspend", json={"reason": "x"}, headers={"X-API-Key": supervisor})
    assert again.status_code == 409 and "already suspended" in again.json()["detail"]
    ended = client.post(
        f"{url}/resume-suspension",
        json={"reason": "鉴定意见已出", "at": "2026-11-15T10:00:00+08:00"},
        headers={"X-API-Key": supervisor},
    )
    assert ended.status_code == 200
    after = clocks(tenant.id, "claim_decision")[0].yellow_due_at
    # 30 days end on Wed 2026-12-02; 10 suspended days move it to Sat 12-12, which rolls to Mon 12-14.
    assert before == local(2026, 12, 3)
    assert after == local(2026, 12, 15)
    assert ended.json()["periods"][0]["kind"] == "suspended"
    assert ended.json()["periods"][0]["reason"] == "委托第三方鉴定"

    extended = client.post(
        f"{url}/extend", json={"amount": 10, "reason": "案情复杂，经主管批准"}, headers={"X-API-Key": supervisor}
    )
    assert extended.status_code == 200 and extended.json()["extended"] == 10
    too_much = client.post(f"{url}/extend", json={"amount": 25, "reason": "再延"}, headers={"X-API-Key": supervisor})
    assert too_much.status_code == 409 and "exceeds the limit of 30" in too_much.json()["detail"]
    no_reason = client.post(f"{url}/extend", json={"amount": 1, "reason": ""}, headers={"X-API-Key": supervisor})
    assert no_reason.status_code == 422 and no_reason.json()["problems"][0]["field"] == "reason"
    forbidden = client.post(f"{url}/extend", json={"amount": 1, "reason": "r"}, headers={"X-API-Key": adjuster})
    assert forbidden.status_code == 403
    integration = client.post(f"{url}/extend", json={"amount": 1, "reason": "r"}, headers={"X-API-Key": tenant.api_key})
    assert integration.status_code == 403 and "approve extensions" in integration.json()["detail"]
    no_extension = client.post(
        "/api/v1/claims/C-7/clocks/advance_payment/extend",  # open, and allows none (materials_notice has met)
        json={"amount": 1, "reason": "r"},
        headers={"X-API-Key": supervisor},
    )
    assert no_extension.status_code == 409 and "allows no extension" in no_extension.json()["detail"]
    unknown = client.post(
        "/api/v1/claims/C-7/clocks/nope/suspend", json={"reason": "r"}, headers={"X-API-Key": supervisor}
    )
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("unknown policy 'nope'")
    assert unknown.json()["problems"][0]["field"] == "policy"

    other = world.tenant("OTHER")
    other_supervisor = world.api_key(other, Role.SUPERVISOR)
    hidden = client.post(f"{url}/suspend", json={"reason": "r"}, headers={"X-API-Key": other_supervisor})
    assert hidden.status_code == 404
    hidden_read = client.get("/api/v1/claims/C-7/clocks", headers={"X-API-Key": other_supervisor})
    assert hidden_read.status_code == 404

    verify_key = world.api_key(tenant, Role.ADMIN)
    verified = client.get("/api/v1/audit/verify", headers={"X-API-Key": verify_key})
    assert verified.status_code == 200 and verified.json()["ok"] is True
