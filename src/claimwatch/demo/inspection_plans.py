"""Demo: each insurer's quality manager starts a stratified plan over last month's closed motor claims
(by org unit, Neyman allocation, sized for ±8 points at 90 %) and a targeted plan on last month's largest
rejected claims, and draws both; the sampled cases go to the insurer's inspector. A third plan, the bundled
quarterly complaint plan, is recorded for the worker to draw.

Every step goes through the services (plans and draws audited, seeds recorded), drawn early in the current
month (at most ``DRAWN_BEFORE`` ago), so "last month" is the month before ``now`` and the inspectors' days of
scoring (``demo/inspection_results.py``) come after the draw.

Call after the claims, complaints and KPI snapshot exist, before the inspection results:
``demo_inspection_plans.load(spec)``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.errors import Problem
from claimwatch.inspections import loader, repository, service
from claimwatch.inspections.models import InspectionDraw
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.subjects.periods import previous_period
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone

DRAWN_BEFORE = dt.timedelta(days=8)


@dataclass
class Loaded:
    plans: list[str] = field(default_factory=list)
    draws: list[int] = field(default_factory=list)
    sampled: int = 0
    unassigned: int = 0
    refused: list[str] = field(default_factory=list)


def _plans(prefix: str, period: str) -> list[PlanDefinition]:
    monthly = PlanDefinition(
        code=f"{prefix}-motor-{period}",
        name=f"车险理赔月度抽检 {period}",
        subject_kind="claim",
        scorecard="motor_claim",
        population={"period": period, "date_field": "closed", "line": "motor"},
        method="stratified",
        strata=["org"],
        allocation="neyman",
        expected_error_rate=0.08,
        size={"confidence": 0.9, "margin": 0.08},  # type: ignore[arg-type]
        due_days=10,
    )
    rejected = PlanDefinition(
        code=f"{prefix}-rejected-{period}",
        name=f"大额拒赔专项检查 {period}",
        subject_kind="claim",
        scorecard="motor_claim",
        population={"period": period, "date_field": "closed", "line": "motor", "outcome": "rejected"},
        method="targeted",
        target={"rule": "top_k", "k": 8, "score": "amount"},  # type: ignore[arg-type]
        due_days=15,
    )
    return [monthly, rejected]


def _drawn_at(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """09:00 local on the 1st of the current month, or ``DRAWN_BEFORE`` ago if that is earlier in the month."""
    first = now.astimezone(zone).replace(day=1, hour=9, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    drawn = max(first, now - DRAWN_BEFORE)
    return drawn if drawn < now else now - dt.timedelta(minutes=30)


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    now = now or utc_now()
    loaded = Loaded()
    quarterly = next(p.definition for p in loader.bundled_plans() if p.definition.code == "complaints-quarterly")
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
            qm = auth_repository.user_by_username(session, f"{tenant.code.lower()}.qm")
            if found is None or qm is None:
                continue
            tenant_id, principal = found.id, auth_service.principal_for_user(qm)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            zone = tenant_zone(session, tenant_id)
        drawn_at = _drawn_at(now, zone)
        period = previous_period("monthly", drawn_at, zone)
        for definition in [*_plans(tenant.code.lower(), period), quarterly]:
            try:
                with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                    plan = repository.plan_by_code(session, definition.code)
                    if plan is None:
                        plan = service.create_plan(session, principal, definition)
                    loaded.plans.append(plan.code)
                    if plan.schedule != "none" or session.scalar(
                        select(InspectionDraw.id).where(InspectionDraw.plan_id == plan.id).limit(1)
                    ):
                        continue
                    draw = service.draw_sample(session, principal, plan.id, now=drawn_at)
                    loaded.draws.append(draw.id)
                    loaded.sampled += draw.sample_count
                    loaded.unassigned += len(
                        [i for i in repository.inspections_of_draw(session, draw.id) if i.inspector_id is None]
                    )
            except Problem as exc:  # e.g. a small demo with no rejected motor claim last month
                loaded.refused.append(f"{tenant.code} {definition.code}: {exc.field}: {exc.message}")
    return loaded
