"""三免 fast track end to end: the default rules (active) put a small clear motor claim on the fast track at report
time; the workflow shortcut is open to it only; it needs only electronic materials; its fast_track_decision clock
(``routes: [fast_track]``) runs, and an investigation takes it back to normal (decision reason, clock void); the
fast-track KPIs come from the snapshot.

One small world per dialect (module scope): F1 and F2 fast-tracked, N1 (liability unclear) normal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch import db, reactions
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import snapshot
from claimwatch.kpi.columns import open_snapshot
from claimwatch.kpi.engine import Period, Scope, compute
from claimwatch.materials import service as materials_service
from claimwatch.materials.loader import ChecklistError, parse_checklist
from claimwatch.risk import repository as risk_repository
from claimwatch.risk import review as risk_review
from claimwatch.risk.models import RiskReview
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import PolicyError, parse_policies
from claimwatch.sla.models import SlaClock
from claimwatch.triage import fast_track
from claimwatch.triage import service as triage_service
from claimwatch.triage import subscriptions as triage_subscriptions
from claimwatch.triage.models import TriageDecision
from claimwatch.workflow.loader import WorkflowError, parse_workflow
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.kpi.helpers import ingest, local
from tests.reports.helpers import module_database

BASE = local(2026, 11, 2, 9, 0)  # a Monday


@dataclass
class FastWorld:
    client: TestClient
    tenant: TenantHandle


def _report(number: str, phone: str, id_number: str, liability_clear: bool) -> dict[str, Any]:
    details = {
        "claim_type": "vehicle_damage",
        "liability_clear": liability_clear,
        "policy_start": "2025-06-01",
        "accident_at": (BASE - dt.timedelta(hours=2)).isoformat(),
    }
    claim = {
        "line": "motor",
        "policy_number": f"POL-{number}",
        "claimant": {"name": "张三丰", "phone": phone, "id_number": id_number},
        "reported_amount": "3200.00",
        "region_code": "440000",
        "details": details,
    }
    return {
        "event_id": f"{number}-r",
        "claim_number": number,
        "type": "reported",
        "occurred_at": BASE.isoformat(),
        "claim": claim,
    }


def _move(number: str, status: str, hours: float) -> dict[str, Any]:
    return {
        "event_id": f"{number}-{status}",
        "claim_number": number,
        "type": "transition",
        "to_status": status,
        "occurred_at": (BASE + dt.timedelta(hours=hours)).isoformat(),
    }


def _claim(session: Session, number: str) -> Claim:
    return session.execute(select(Claim).where(Claim.number == number)).scalar_one()


def _clocks(tenant: TenantHandle, number: str) -> list[SlaClock]:
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        claim = _claim(session, number)
        rows = list(
            session.execute(
                select(SlaClock)
                .where(SlaClock.claim_id == claim.id, SlaClock.policy_code == "fast_track_decision")
                .order_by(SlaClock.id)
            ).scalars()
        )
        session.expunge_all()
        return rows


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fast(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[FastWorld]:
    tmp = tmp_path_factory.mktemp(f"fast-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    handlers = reactions.subscribers(reactions.CASE_EVENTS)  # loads the wiring first
    wired = triage_subscriptions.triage_claims in handlers
    if not wired:  # until claimwatch/subscriptions.py loads triage (first, before the clocks)
        reactions._subscribers[reactions.CASE_EVENTS].insert(0, triage_subscriptions.triage_claims)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp / "snapshot"))
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        tenant = world.tenant("ACME", "示例保险")
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            admin = Principal(role=Role.ADMIN, tenant_id=tenant.id, actor="user:admin")
            triage_service.load_rule_set(session, admin, mode="active")
        client = TestClient(shared_app())
        ingest(
            client,
            tenant,
            [
                _report("F1", "13800000001", "110101199003071234", True),
                _report("F2", "13800000002", "110101198512120016", True),
                _report("N1", "13800000003", "110101197708080011", False),
            ],
        )
        ingest(
            client,
            tenant,
            [_move(n, s, h) for n in ("F1", "F2", "N1") for s, h in (("accepted", 1), ("initial_review", 2))],
        )
        yield FastWorld(client, tenant)
    if not wired:
        reactions._subscribers[reactions.CASE_EVENTS].remove(triage_subscriptions.triage_claims)
    get_settings.cache_clear()
    for _ in databases:
        pass


def test_fast_track_end_to_end(fast: FastWorld) -> None:
    tenant, client = fast.tenant, fast.client
    headers = {"X-API-Key": tenant.api_key}
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        routes = {n: _claim(session, n).route for n in ("F1", "F2", "N1")}
    assert routes == {"F1": "fast_track", "F2": "fast_track", "N1": "normal"}
    # The fast-track decision clock runs from the report, 1 working day; a normal claim has none.
    (clock,) = _clocks(tenant, "F1")
    assert clock.state == "running" and clock.unit == "working_days"
    assert clock.started_at == BASE.astimezone(dt.UTC)
    assert _clocks(tenant, "N1") == []

    # The 三免 shortcut (survey and loss assessment waived) is open to the fast-tracked claim only.
    refused = client.post("/api/v1/events", json={"events": [_move("N1", "verification", 3)]}, headers=headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()["problems"][0]
    assert problem["field"] == "to_status" and "only for claims on route fast_track" in problem["message"]
    ingest(client, tenant, [_move("F1", s, h) for s, h in (("verification", 3), ("approval", 4), ("payment", 5))])
    (clock,) = _clocks(tenant, "F1")
    assert (clock.state, clock.outcome) == ("stopped", "met")  # decided within the working day

    # Electronic materials only: the 定损单 (paper, from the waived loss assessment) is not asked of F2.
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        for number in ("F2", "N1"):
            materials_service.set_profile(session, _claim(session, number), "vehicle_damage", [], "test")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        fast_needs = materials_service.claim_evaluation(session, _claim(session, "F2"))
        normal_needs = materials_service.claim_evaluation(session, _claim(session, "N1"))
        assert fast_needs is not None and normal_needs is not None
        assert set(fast_needs.missing) == set(normal_needs.missing) - {"loss_assessment"}
        view = materials_service.materials_view(session, _claim(session, "F2"), "en")
        assert view["electronic_only"] and {i["code"] for i in view["items"] if i["waived"]} == {"loss_assessment"}

    # An investigation ends eligibility: back on normal with the reason on the decision, the clock void (neither
    # met nor late), the paper items asked again.
    ingest(client, tenant, [_move("F2", "investigation", 6)])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        claim = _claim(session, "F2")
        assert claim.route == "normal"
        decision = session.get(TriageDecision, claim.triage_decision_id)
        assert decision is not None and decision.trigger == "status" and decision.route == "normal"
        assert decision.reason is not None and fast_track.ENDED_BY_INVESTIGATION in decision.reason
        again = materials_service.claim_evaluation(session, claim)
        assert again is not None and "loss_assessment" in again.missing
        # Telling the clocks again changes nothing.
        change = sla_service.RouteChange.of(claim, BASE.astimezone(dt.UTC), "test")
        assert sla_service.route_changed(session, tenant.id, [change]) == 0
    (clock,) = _clocks(tenant, "F2")
    assert (clock.state, clock.outcome) == ("stopped", "void")

    # KPIs from the snapshot: F1 and F2 were eligible, F1 stayed on the fast track (50 %); F1's cycle; nothing was
    # checked afterwards, so leakage has no data (never a made-up zero).
    ingest(client, tenant, [_move("F1", "closed", 8)])
    info = snapshot.take_snapshot()
    con = open_snapshot(info.directory)
    try:
        rows = con.execute("SELECT route, fast_track_eligible, checked FROM claims ORDER BY claim_id").fetchall()
        assert rows == [("fast_track", True, False), ("normal", True, False), ("normal", False, False)]
        kpis = [k for k in kpi_loader.catalogue() if k.code.startswith("fast_track_")]
        result = compute(con, kpis, [Period.parse("2026-11")], Scope((tenant.id,)))
        share = result.get("fast_track_share", "2026-11")
        cycle = result.get("fast_track_cycle_time", "2026-11")
        assert share is not None and share.value == pytest.approx(50.0)
        assert cycle is not None and cycle.value == pytest.approx(8 / 24)
        assert result.get("fast_track_leakage", "2026-11") is None
    finally:
        con.close()


def test_bad_configuration_names_file_and_line() -> None:
    workflow = """line: motor
initial: a
states: {a: {}, b: {terminal: true}}
transitions:
  - {from: a, to: b, routes: [fastrack]}
"""
    with pytest.raises(WorkflowError) as raised:
        parse_workflow(workflow, "motor.yaml")
    assert (
        str(raised.value) == "motor.yaml:5: unknown route 'fastrack' (known: normal, fast_track, green, manual_review)"
    )
    shortcut = parse_workflow(workflow.replace("fastrack", "fast_track"), "m.yaml").transition("a", "b")
    assert shortcut is not None and shortcut.routes == {"fast_track"}
    assert shortcut.allows_route("fast_track") and not shortcut.allows_route("normal")

    policy = """policies:
  - code: quick
    unit: working_days
    yellow: 1
    red: 2
    routes: [speedy]
    start: {events: [reported]}
    stop: {statuses: [closed]}
"""
    with pytest.raises(PolicyError) as failed:
        parse_policies(policy, "claims.yaml")
    assert str(failed.value).startswith("claims.yaml:6: unknown route 'speedy'")
    (quick,) = parse_policies(policy.replace("speedy", "fast_track"), "claims.yaml")
    assert quick.applies_to("motor", 100, "fast_track") and not quick.applies_to("motor", 100, "normal")

    checklist = """line: motor
items:
  - {code: id_proof, zh: 身份证明, en: Proof of identity, electronic: maybe}
claim_types:
  damage: {zh: 车损, en: Damage, required: [id_proof]}
"""
    with pytest.raises(ChecklistError) as bad:
        parse_checklist(checklist, "motor.yaml", ["motor"])
    assert str(bad.value) == "motor.yaml:3: 'electronic' of item 'id_proof' must be true or false, not 'maybe'"


def test_needs_investigation_on_review_ends_the_fast_track(fast: FastWorld) -> None:
    """A reviewer's "needs investigation" (核查) is an investigation: triage runs again, the fast-tracked claim
    goes back to normal, its fast-track clock stops, and the decision's audit entry names both routes."""
    tenant = fast.tenant
    ingest(fast.client, tenant, [_report("F3", "13800000004", "110101198801010019", True)])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        claim = _claim(session, "F3")
        assert claim.route == "fast_track"
        score = risk_repository.latest_score(session, claim.id)
        assert score is not None
        row = RiskReview(
            tenant_id=tenant.id, claim_id=claim.id, score_id=score.id, score=score.score, level="high",
            reasons=[], status="open", open_claim=claim.id, created_at=claim.reported_at,
        )  # fmt: skip
        session.add(row)
        session.flush()
        review_id = row.id
    reviewer = Principal(role=Role.SUPERVISOR, tenant_id=tenant.id, actor="user:reviewer")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        risk_review.decide(session, reviewer, review_id, "needs_investigation", "repair invoices look edited")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        claim = _claim(session, "F3")
        assert claim.route == "normal"
        decision = session.get(TriageDecision, claim.triage_decision_id)
        assert decision is not None and (decision.trigger, decision.event_ref) == ("review", f"risk_review:{review_id}")
        assert decision.reason is not None and fast_track.ENDED_BY_INVESTIGATION in decision.reason
        assert decision.facts["investigation"] is True
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.kind == "risk.review_decided", AuditEntry.subject == "F3")
        ).scalar_one()
        payload = json.loads(entry.payload or "{}")
        assert (payload["route_before"], payload["route_after"]) == ("fast_track", "normal")
    # The clock follows the route: stopped when the review moved the claim (a month after the report here, so
    # past its deadline already: breached, not void).
    (clock,) = _clocks(tenant, "F3")
    assert (clock.state, clock.outcome) == ("stopped", "breached")
