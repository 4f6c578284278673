"""The improvement-action sweep (worker pass ``action_jobs.sweep()``): reminders before a due date, warnings
and escalation after it, for actions and their steps.

Before (``remind_at``, :data:`clocks.REMIND_BEFORE` ahead): the owner is reminded once. Yellow (the due date
passed): the owner is told, and the supervisors over the owner's unit (for a step: its owner and the action's
owner). Red (:data:`clocks.ESCALATE_AFTER_DAYS` later): the quality managers (and, for a step, the supervisors
over its owner's unit). Like the rectification sweep it reads only clocks whose ``next_check_at`` has come,
tenant by tenant, each batch in its own transaction that takes the tenant's audit chain first and then the
clock rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a level fires once per clock and every notice carries
a dedupe key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from claimwatch.actions import repository, service
from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.db import utc_now
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service

SYSTEM_ACTOR = "system:actions"
BATCH_SIZE = 500
_RETRY = dt.timedelta(hours=1)


@dataclass
class ActionSweepResult(sla_jobs.SweepResult):
    reminders: int = 0


def sweep(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> ActionSweepResult:
    """One pass over every tenant's due action clocks; each batch commits on its own."""
    at = now or utc_now()
    return sla_jobs.sweep_clock_table(
        at,
        batch_size,
        ActionClock,
        lambda session, tenant_id, due, result: _check_batch(session, tenant_id, due, at, result),
        ActionSweepResult(),
    )


def _check_batch(
    session: Session, tenant_id: int, due: Sequence[ActionClock], now: dt.datetime, result: ActionSweepResult
) -> None:
    actions = repository.by_ids(session, tenant_id, {c.action_id for c in due})
    steps = repository.steps_by_ids(session, tenant_id, {c.step_id for c in due if c.step_id is not None})
    axes = sla_service.Axes(session, tenant_id)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    for clock in due:
        step = steps.get(clock.step_id) if clock.step_id is not None else None
        _check(session, axes, zone, actions[clock.action_id], step, clock, now, result)


def _check(
    session: Session,
    axes: sla_service.Axes,
    zone: dt.tzinfo,
    action: ImprovementAction,
    step: ActionStep | None,
    clock: ActionClock,
    now: dt.datetime,
    result: ActionSweepResult,
) -> None:
    if clock.state != engine.RUNNING:
        clock.next_check_at = None
        return
    axis = axes(clock.unit)
    engine.advance_light(axis, clock, now)
    owed = engine.LEVELS[clock.light]
    if owed == 0 and clock.remind_at is not None and clock.reminded_at is None and now >= clock.remind_at:
        _remind(session, zone, action, step, clock, now)
        result.reminders += 1
    if clock.escalated < 1 <= owed:
        _warn(session, zone, action, step, clock, engine.YELLOW, now)
        result.yellow += 1
    if clock.escalated < 2 <= owed:
        _warn(session, zone, action, step, clock, engine.RED, now)
        result.red += 1
    if owed >= 1 and clock.reminded_at is None:
        clock.reminded_at = now  # overdue before the reminder could go: the warning says it all
    clock.escalated = max(clock.escalated, owed)
    clock.updated_at = now
    candidates = [engine.next_check(axis, clock)]
    if clock.reminded_at is None and clock.remind_at is not None:
        candidates.append(clock.remind_at)
    upcoming = min((c for c in candidates if c is not None), default=None)
    clock.next_check_at = upcoming if upcoming is None or upcoming > now else now + _RETRY


def _what(action: ImprovementAction, step: ActionStep | None) -> str:
    if step is None:
        return f"改进措施「{action.title}」"
    return f"改进措施「{action.title}」的步骤{step.position}「{step.text[:60]}」"


def _day(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    if value is None:
        return "—"
    return (value.astimezone(zone) - dt.timedelta(seconds=1)).strftime("%Y-%m-%d")


def _owner(action: ImprovementAction, step: ActionStep | None) -> int:
    return step.owner_user_id if step is not None else action.owner_user_id


def _remind(
    session: Session,
    zone: dt.tzinfo,
    action: ImprovementAction,
    step: ActionStep | None,
    clock: ActionClock,
    now: dt.datetime,
) -> None:
    clock.reminded_at = now
    due = _day(clock.yellow_due_at, zone)
    sent = notify_staff_notices.notify_user(
        session,
        action.tenant_id,
        _owner(action, step),
        service.NOTICE_REMINDER,
        f"改进措施 {action.number} 将于 {due} 到期",
        f"{_what(action, step)}的完成期限为 {due}，请按期完成。",
        f"action:{clock.id}:remind",
        now,
        link=service.action_url(action.id),
    )
    service.record(
        session,
        action,
        "reminder",
        SYSTEM_ACTOR,
        now,
        step_id=step.id if step else None,
        due_at=clock.yellow_due_at,
        notified=["owner"] if sent else [],
    )


def _warn(
    session: Session,
    zone: dt.tzinfo,
    action: ImprovementAction,
    step: ActionStep | None,
    clock: ActionClock,
    level: str,
    now: dt.datetime,
) -> None:
    due = _day(clock.yellow_due_at, zone)
    what = _what(action, step)
    key = f"action:{clock.id}:{level}"
    link = service.action_url(action.id)
    owner_id = _owner(action, step)
    owner = auth_repository.user_by_id(session, owner_id)
    unit = owner.org_unit_id if owner is not None else action.scope_org_unit_id
    sent: list[str] = []
    if level == engine.YELLOW:
        subject = f"改进措施 {action.number} 已逾期"
        body = f"{what}的完成期限 {due} 已过，请尽快完成。"
        tenant_id, kind = action.tenant_id, service.NOTICE_OVERDUE
        if notify_staff_notices.notify_user(
            session, tenant_id, owner_id, kind, subject, body, f"{key}:owner", now, link=link
        ):
            sent.append("owner")
        if step is not None and action.owner_user_id != owner_id:
            if notify_staff_notices.notify_user(
                session, tenant_id, action.owner_user_id, kind, subject, body, f"{key}:action", now, link=link
            ):
                sent.append("action_owner")
        elif step is None:
            # The supervisors over the owner's unit; an owner with no unit has the quality managers over them.
            role = Role.SUPERVISOR.value if unit is not None else Role.QUALITY_MANAGER.value
            if notify_staff_notices.notify_staff(
                session,
                action.tenant_id,
                role,
                service.NOTICE_OVERDUE,
                subject,
                f"{body}请督办。",
                f"{key}:{role}",
                now,
                org_unit_id=unit,
                link=link,
            ):
                sent.append(role)
    else:
        subject = f"改进措施 {action.number} 逾期升级"
        body = f"{what}的完成期限 {due} 已过 {_days_late(clock, now)} 天仍未完成，请督办。"
        role = Role.SUPERVISOR.value if step is not None else Role.QUALITY_MANAGER.value
        if notify_staff_notices.notify_staff(
            session,
            action.tenant_id,
            role,
            service.NOTICE_ESCALATED,
            subject,
            body,
            f"{key}:{role}",
            now,
            org_unit_id=unit if step is not None else action.scope_org_unit_id,
            link=link,
        ):
            sent.append(role)
    service.record(
        session,
        action,
        "overdue",
        SYSTEM_ACTOR,
        now,
        step_id=step.id if step else None,
        level=level,
        due_at=clock.yellow_due_at,
        notified=sent,
    )


def _days_late(clock: ActionClock, now: dt.datetime) -> int:
    return max(1, (now - clock.yellow_due_at).days) if clock.yellow_due_at else 0
