"""A small world for the inspector's side (scoring, findings, review): one insurer, two inspectors, a
handler, a quality manager, three motor claims (one paid and closed, one rejected, one open) and a plan,
a draw and an inspection per claim, made directly through the models (the draw service is tested in
test_sampling)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, TenantHandle, World, at, reported, transition

INSPECTOR, SECOND, HANDLER, MANAGER = "qian.inspector", "zhou.inspector", "li.adjuster", "sun.quality"


@dataclass(frozen=True)
class ResultsWorld:
    tenant: TenantHandle
    users: dict[str, int]
    inspections: dict[str, int]  # claim number → inspection id
    draw_seed: int

    def principal(self, username: str, role: Role = Role.INSPECTOR) -> Principal:
        return Principal(role=role, tenant_id=self.tenant.id, actor=f"user:{username}", user_id=self.users[username])


def _assigned(event_id: str, number: str, hours: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "claim_number": number,
        "type": "assigned",
        "assignee": HANDLER,
        "occurred_at": at(hours),
    }


def build(world: World, review_share: float = 0.0, seed: int = 20261101) -> ResultsWorld:
    tenant = world.tenant("ACME", "示例保险")
    world.user(INSPECTOR, Role.INSPECTOR, tenant)
    world.user(SECOND, Role.INSPECTOR, tenant)
    world.user(HANDLER, Role.ADJUSTER, tenant)
    world.user(MANAGER, Role.QUALITY_MANAGER, tenant)
    events = [
        reported("p1", "M-PAID", org_code=tenant.branch_code, hours=0),
        _assigned("p0", "M-PAID", 0.5),
        *[transition(f"p{i + 2}", "M-PAID", status, hours=1 + i) for i, status in enumerate(HAPPY_PATH)],
        reported("r1", "M-REJ", org_code=tenant.branch_code, hours=0),
        _assigned("r0", "M-REJ", 0.5),
        transition("r2", "M-REJ", "accepted", hours=1),
        transition("r3", "M-REJ", "initial_review", hours=2),
        transition("r4", "M-REJ", "rejected", hours=3, reason="不属于保险责任"),
        reported("o1", "M-OPEN", org_code=tenant.branch_code, hours=0),
    ]
    response = TestClient(shared_app()).post(
        "/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key}
    )
    assert response.status_code == 201, response.text
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        users = {u.username: u.id for u in session.scalars(select(User).where(User.tenant_id == tenant.id))}
        definition = {"code": "MOTOR-M", "review_share": review_share, "due_days": 10}
        plan = InspectionPlan(
            tenant_id=tenant.id,
            code="MOTOR-M",
            name="车险月度抽检",
            subject_kind="claim",
            scorecard_code="motor_claim",
            definition=json.dumps(definition),
            created_by="user:sun.quality",
        )
        session.add(plan)
        session.flush()
        draw = InspectionDraw(
            tenant_id=tenant.id,
            plan_id=plan.id,
            period="2026-11",
            seed=seed,
            population_count=3,
            sample_count=3,
            strata="[]",
            parameters=json.dumps(definition),
            drawn_by="user:sun.quality",
        )
        session.add(draw)
        session.flush()
        inspections = {}
        for claim in session.scalars(select(Claim).order_by(Claim.id)):
            row = Inspection(
                tenant_id=tenant.id,
                plan_id=plan.id,
                draw_id=draw.id,
                subject_kind="claim",
                subject_id=claim.id,
                stratum="",
                org_unit_id=claim.org_unit_id,
                line=claim.line,
                handler_id=claim.assignee_id,
                inspector_id=users[INSPECTOR],
                scorecard_code="motor_claim",
                status="assigned",
                due_at=utc_now().replace(microsecond=0),
            )
            session.add(row)
            session.flush()
            inspections[claim.number] = row.id
    return ResultsWorld(tenant, users, inspections, seed)


# A passing result for a paid, closed motor claim; a rejected one marks the payment items N/A.
PAID_ALL_PASS: dict[str, tuple[str, str | None]] = {
    "materials_notice_once": ("pass", None),
    "decision_deadline": ("pass", None),
    "payment_computed": ("pass", None),
    "payment_on_time": ("pass", None),
    "rejection_reasons": ("na", None),
    "claimant_informed": ("pass", None),
    "file_complete": ("pass", None),
}
