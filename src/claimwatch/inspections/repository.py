"""Queries of plans, draws and the sampled cases (inspections). ORM selects are tenant-filtered by
``claimwatch.db``; the cross-tenant ones (the periodic-plan pass) say so."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.tenancy.models import OrgUnit


def may_inspect(user: User) -> bool:
    """Whether the user's role may be given cases to inspect (the role matrix's PERFORM_INSPECTIONS)."""
    return user.role in ROLE_PERMISSIONS[Permission.PERFORM_INSPECTIONS]


def plan_by_code(session: Session, code: str) -> InspectionPlan | None:
    return session.execute(select(InspectionPlan).where(InspectionPlan.code == code)).scalar_one_or_none()


def plan_by_id(session: Session, plan_id: int) -> InspectionPlan | None:
    return session.execute(select(InspectionPlan).where(InspectionPlan.id == plan_id)).scalar_one_or_none()


def plans(session: Session, limit: int = 500) -> list[InspectionPlan]:
    return list(
        session.execute(
            select(InspectionPlan).order_by(InspectionPlan.created_at.desc(), InspectionPlan.id.desc()).limit(limit)
        ).scalars()
    )


def draw_by_id(session: Session, draw_id: int) -> InspectionDraw | None:
    return session.execute(select(InspectionDraw).where(InspectionDraw.id == draw_id)).scalar_one_or_none()


def draws_of_plan(session: Session, plan_id: int) -> list[InspectionDraw]:
    return list(
        session.execute(
            select(InspectionDraw)
            .where(InspectionDraw.plan_id == plan_id)
            .order_by(InspectionDraw.drawn_at.desc(), InspectionDraw.id.desc())
        ).scalars()
    )


def draw_for_period(session: Session, plan_id: int, period: str) -> InspectionDraw | None:
    return session.execute(
        select(InspectionDraw).where(InspectionDraw.plan_id == plan_id, InspectionDraw.period == period)
    ).scalar_one_or_none()


def count_draws(session: Session, plan_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(InspectionDraw).where(InspectionDraw.plan_id == plan_id)
    ).scalar_one()


def draw_counts(session: Session, plan_ids: Iterable[int]) -> dict[int, tuple[int, Any]]:
    """Per plan: how many draws, and when the latest was drawn."""
    ids = list(plan_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(InspectionDraw.plan_id, func.count(), func.max(InspectionDraw.drawn_at))
        .where(InspectionDraw.plan_id.in_(ids))
        .group_by(InspectionDraw.plan_id)
    )
    return {plan_id: (count, latest) for plan_id, count, latest in rows}


def insert_inspections(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 1000):
        session.execute(insert(Inspection), rows[start : start + 1000])


def inspections_of_draw(session: Session, draw_id: int) -> list[Inspection]:
    return list(
        session.execute(
            select(Inspection).where(Inspection.draw_id == draw_id).order_by(Inspection.stratum, Inspection.id)
        ).scalars()
    )


def status_counts(session: Session, draw_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(draw_ids)
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = {}
    unassigned = Inspection.inspector_id.is_(None)
    rows = session.execute(
        select(Inspection.draw_id, Inspection.status, unassigned, func.count())
        .where(Inspection.draw_id.in_(ids))
        .group_by(Inspection.draw_id, Inspection.status, unassigned)
    )
    for draw_id, status, nobody, count in rows:
        counts = found.setdefault(draw_id, {})
        key = "unassigned" if nobody else status
        counts[key] = counts.get(key, 0) + count
    return found


def list_inspections(
    session: Session, *, status: str | None = None, inspector_id: int | None = None, limit: int = 200, offset: int = 0
) -> list[Inspection]:
    query = select(Inspection)
    if status == "unassigned":
        query = query.where(Inspection.inspector_id.is_(None))
    elif status:
        query = query.where(Inspection.status == status)
    if inspector_id is not None:
        query = query.where(Inspection.inspector_id == inspector_id)
    return list(
        session.execute(
            query.order_by(Inspection.due_at.asc(), Inspection.id.asc()).offset(offset).limit(limit)
        ).scalars()
    )


def prior_error_rates(session: Session, plan_id: int) -> dict[str, tuple[int, int]]:
    """Per stratum key: (inspected, errors) of the plan's earlier scored inspections."""
    errors = func.sum(case((Inspection.error.is_(True), 1), else_=0))
    rows = session.execute(
        select(Inspection.stratum, func.count(), errors)
        .where(Inspection.plan_id == plan_id, Inspection.error.is_not(None))
        .group_by(Inspection.stratum)
    )
    return {stratum: (int(count), int(errs or 0)) for stratum, count, errs in rows}


def inspectors(session: Session, tenant_id: int, usernames: Iterable[str] | None = None) -> list[User]:
    """Staff who may inspect: the named ones (any role; the service checks it), else every active inspector."""
    query = select(User).where(User.tenant_id == tenant_id)
    names = list(usernames or [])
    if names:
        query = query.where(User.username.in_(names))
    else:
        query = query.where(User.role == Role.INSPECTOR, User.active.is_(True))
    return list(session.execute(query.order_by(User.username)).scalars())


def users_by_id(session: Session, tenant_id: int, user_ids: Iterable[int]) -> dict[int, User]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User).where(User.tenant_id == tenant_id, User.id.in_(ids))).scalars()
    return {user.id: user for user in rows}


def org_units(session: Session) -> dict[int, OrgUnit]:
    return {unit.id: unit for unit in session.execute(select(OrgUnit)).scalars()}


def periodic_plans(session: Session) -> list[tuple[int, int, str]]:
    """(tenant id, plan id, schedule) of every active periodic plan of every tenant (the worker's pass)."""
    rows = session.execute(
        select(InspectionPlan.tenant_id, InspectionPlan.id, InspectionPlan.schedule)
        .where(InspectionPlan.active.is_(True), InspectionPlan.schedule.in_(("monthly", "quarterly")))
        .order_by(InspectionPlan.tenant_id, InspectionPlan.id),
        execution_options={"include_all_tenants": True},
    )
    return [(tenant_id, plan_id, schedule) for tenant_id, plan_id, schedule in rows]
