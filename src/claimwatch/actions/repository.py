"""Improvement-action queries. Every one names the tenant (and the session's tenant context adds it again):
another insurer's actions are never seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.audit.models import AuditEntry
from claimwatch.sla import engine


def get(session: Session, tenant_id: int, action_id: int) -> ImprovementAction | None:
    statement = select(ImprovementAction).where(
        ImprovementAction.tenant_id == tenant_id, ImprovementAction.id == action_id
    )
    return session.execute(statement).scalar_one_or_none()


def get_step(session: Session, tenant_id: int, step_id: int) -> ActionStep | None:
    statement = select(ActionStep).where(ActionStep.tenant_id == tenant_id, ActionStep.id == step_id)
    return session.execute(statement).scalar_one_or_none()


def numbers_in_year(session: Session, tenant_id: int, prefix: str) -> int:
    """How many numbers with ``prefix`` (``GJ-2026-``) the tenant has used (the caller holds its chain)."""
    statement = select(func.count()).where(
        ImprovementAction.tenant_id == tenant_id, ImprovementAction.number.like(f"{prefix}%")
    )
    return int(session.execute(statement).scalar_one())


def steps(session: Session, tenant_id: int, action_ids: Sequence[int]) -> list[ActionStep]:
    if not action_ids:
        return []
    statement = (
        select(ActionStep)
        .where(ActionStep.tenant_id == tenant_id, ActionStep.action_id.in_(sorted(set(action_ids))))
        .order_by(ActionStep.action_id, ActionStep.position, ActionStep.id)
    )
    return list(session.execute(statement).scalars())


def clocks(session: Session, tenant_id: int, action_ids: Sequence[int]) -> list[ActionClock]:
    if not action_ids:
        return []
    statement = (
        select(ActionClock)
        .where(ActionClock.tenant_id == tenant_id, ActionClock.action_id.in_(sorted(set(action_ids))))
        .order_by(ActionClock.action_id, ActionClock.id)
    )
    return list(session.execute(statement).scalars())


def running_clocks(session: Session, tenant_id: int, action_id: int) -> list[ActionClock]:
    return [c for c in clocks(session, tenant_id, [action_id]) if c.state != engine.STOPPED]


def for_source(
    session: Session, tenant_id: int, source_kind: str, source_id: int | None, source_ref: str | None
) -> list[ImprovementAction]:
    statement = select(ImprovementAction).where(
        ImprovementAction.tenant_id == tenant_id, ImprovementAction.source_kind == source_kind
    )
    if source_id is not None:
        statement = statement.where(ImprovementAction.source_id == source_id)
    if source_ref is not None:
        statement = statement.where(ImprovementAction.source_ref == source_ref)
    return list(session.execute(statement.order_by(ImprovementAction.created_at, ImprovementAction.id)).scalars())


def next_of(session: Session, tenant_id: int, action_id: int) -> ImprovementAction | None:
    """The action a new cycle of ``action_id`` started, if any."""
    statement = select(ImprovementAction).where(
        ImprovementAction.tenant_id == tenant_id, ImprovementAction.previous_action_id == action_id
    )
    return session.execute(statement.order_by(ImprovementAction.id).limit(1)).scalar_one_or_none()


def open_overdue(session: Session, tenant_id: int, at: dt.datetime, phases: Sequence[str]) -> list[ImprovementAction]:
    statement = (
        select(ImprovementAction)
        .where(
            ImprovementAction.tenant_id == tenant_id,
            ImprovementAction.phase.in_(phases),
            ImprovementAction.due_at < at,
        )
        .order_by(ImprovementAction.due_at, ImprovementAction.id)
    )
    return list(session.execute(statement).scalars())


def history(session: Session, tenant_id: int, number: str) -> list[AuditEntry]:
    """The action's audit entries (kind ``action.*``), oldest first."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.subject == number, AuditEntry.kind.like("action.%"))
        .order_by(AuditEntry.seq)
    )
    return list(session.execute(statement).scalars())


# -- the sweep ----------------------------------------------------------------------------------------


def by_ids(session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, ImprovementAction]:
    wanted = sorted(set(ids))
    found: dict[int, ImprovementAction] = {}
    for start in range(0, len(wanted), 500):
        statement = select(ImprovementAction).where(
            ImprovementAction.tenant_id == tenant_id, ImprovementAction.id.in_(wanted[start : start + 500])
        )
        for action in session.execute(statement).scalars():
            found[action.id] = action
    return found


def steps_by_ids(session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, ActionStep]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = select(ActionStep).where(ActionStep.tenant_id == tenant_id, ActionStep.id.in_(wanted))
    return {step.id: step for step in session.execute(statement).scalars()}
