"""A claim that gets a handler is scored again against that handler's own amount authority (权限): at report time
(no handler yet) "amount just under an authority limit" took the red-flag file's nearest tier; once assigned, it
measures the amount against the handler's limit. The handler comes from the core system (an ``assigned`` event)
or from the assignment domain (a pending decision applied, with the claim already in its session); a handler
without a limit changes no fact, and nothing is written; a claim reported and assigned in one batch is scored
once, with its handler."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.assignment import jobs as assignment_jobs
from claimwatch.assignment import service as assignment_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.risk.models import RiskScore
from claimwatch.triage import service as triage_service
from claimwatch.triage.models import TriageDecision
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.kpi.helpers import ingest, local

BASE = local(2026, 11, 2, 9, 0)  # a Monday
FLAG = "just_under_authority_limit"


def _report(tenant: TenantHandle, number: str, hours: float) -> dict[str, Any]:
    claim = {
        "line": "motor",
        "policy_number": f"POL-{number}",
        "claimant": {"name": "王五", "phone": "13700000001"},
        # 5 700 CNY: 43 % under the file's next tier (10 000), 5 % under the limited handler's 6 000
        "reported_amount": "5700.00",
        "region_code": "440000",
        "org_code": tenant.branch_code,
    }
    at = (BASE + dt.timedelta(hours=hours)).isoformat()
    return {"event_id": f"{number}-r", "claim_number": number, "type": "reported", "occurred_at": at, "claim": claim}


def _assigned(number: str, hours: float, username: str) -> dict[str, Any]:
    at = (BASE + dt.timedelta(hours=hours)).isoformat()
    return {
        "event_id": f"{number}-a",
        "claim_number": number,
        "type": "assigned",
        "occurred_at": at,
        "assignee": username,
    }


def _profile(session: Session, admin: Principal, tenant: TenantHandle, username: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "username": username,
        "lines": [],
        "claim_types": [],
        "authority": None,
        "org_code": tenant.branch_code,
        "region_codes": [],
        "capacity": 20,
        "handles_claims": True,
        "handles_complaints": False,
        "active": True,
    } | fields
    assignment_service.save_profile(session, admin, assignment_service.ProfileChange(**values))


def _claim(session: Session, number: str) -> Claim:
    return session.execute(select(Claim).where(Claim.number == number)).scalar_one()


def _scores(session: Session, number: str) -> list[RiskScore]:
    claim = _claim(session, number)
    return list(session.scalars(select(RiskScore).where(RiskScore.claim_id == claim.id).order_by(RiskScore.id)))


def _codes(score: RiskScore) -> set[str]:
    return {flag["code"] for flag in score.flags}


def test_a_handler_with_an_authority_limit_scores_the_claim_again(world: World) -> None:
    tenant = world.tenant("ACME", "示例保险")
    for username in ("adj.limit", "adj.free"):
        world.user(username, Role.ADJUSTER, tenant)
    admin = Principal(role=Role.ADMIN, tenant_id=tenant.id, actor="user:admin")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        triage_service.load_rule_set(session, admin, mode="active")
        assignment_service.set_mode(session, admin, "active")
        _profile(session, admin, tenant, "adj.limit", authority=Decimal("6000.00"))
        _profile(session, admin, tenant, "adj.free", handles_claims=False)  # takes no new work; no limit
    client = TestClient(shared_app())
    ingest(client, tenant, [_report(tenant, "C1", 0), _report(tenant, "C2", 1), _report(tenant, "C3", 2)])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        for number in ("C1", "C2", "C3"):
            (reported,) = _scores(session, number)
            assert reported.trigger == "reported" and FLAG not in _codes(reported)
            assert reported.inputs["authority_headroom_pct"] == pytest.approx(0.43)

    # From the core system: C1 to the handler with a 6 000 CNY limit, C2 to one without a limit.
    ingest(client, tenant, [_assigned("C1", 3, "adj.limit"), _assigned("C2", 3, "adj.free")])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        reported, again = _scores(session, "C1")
        assert again.trigger == "rescore" and FLAG in _codes(again)
        assert again.inputs["authority_headroom_pct"] == pytest.approx(0.05)
        claim = _claim(session, "C1")
        assert claim.risk_score == pytest.approx(again.score) and again.points > reported.points
        assert len(_scores(session, "C2")) == 1  # no limit: the report-time score stands, nothing written
        # The route stays normal: a decision is stored only when something the rules decide changed.
        decisions = session.scalars(select(TriageDecision.trigger).where(TriageDecision.claim_id == claim.id)).all()
        assert decisions == ["reported"]

    # Reported and assigned in one batch: scored once, at the report, with the handler's limit already.
    ingest(client, tenant, [_report(tenant, "C4", 4), _assigned("C4", 4.5, "adj.limit")])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        (once,) = _scores(session, "C4")
        assert once.trigger == "reported" and FLAG in _codes(once)

    # From the assignment domain: C3's pending decision applied (its Claim is in that session when the event
    # is ingested, with no handler yet).
    assert assignment_jobs.apply_pending() >= 1
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        limited = auth_repository.user_by_username(session, "adj.limit")
        assert limited is not None and _claim(session, "C3").assignee_id == limited.id
        reported, again = _scores(session, "C3")
        assert again.trigger == "rescore" and FLAG in _codes(again)
        assert _claim(session, "C1").assignee_id == limited.id  # assigned meanwhile by the core system: kept
