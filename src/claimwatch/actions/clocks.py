"""Due dates of improvement actions and their steps on the SLA engine.

The manager picks a due day; the clock is an engine clock (``sla.models.ClockColumns``) in calendar days on
the tenant's calendar whose target is that day: counting starts the day after the clock starts (Civil Code
art. 201) and a due day that is not a working day rolls to the next working day (art. 203), so the deadline
is the end of the due day (or of the working day it rolls to), in the tenant's zone. Red, the escalation
threshold, is :data:`ESCALATE_AFTER_DAYS` later. A reminder goes out :data:`REMIND_BEFORE` ahead
(``remind_at``). The views reuse the rectification clock view (same columns).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.audit import service as audit_service
from claimwatch.calendar.workdays import Unit
from claimwatch.rectification.clocks import clock_view
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy
from claimwatch.tenancy import repository as tenancy_repository

ACTION_DUE, STEP_DUE = "action_due", "action_step_due"
UNIT = Unit.CALENDAR_DAYS
ESCALATE_AFTER_DAYS = 7  # red: a week past the due day, the quality managers are told
REMIND_BEFORE = dt.timedelta(days=3)
_NAMES = {
    ACTION_DUE: ("改进措施完成期限", "Improvement action due date"),
    STEP_DUE: ("措施步骤完成期限", "Action step due date"),
}
_BASIS = "改进措施：负责人在设定的完成期限前完成；逾期提醒负责人及其主管，逾期7日报品质管理部"
_COPIED = [name for name in engine.CLOCK_FIELDS if name not in ("id", "claim_id")]


def end_of_day(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The midnight that ends ``day`` in ``zone``, as UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)


def policy(code: str, days: float = 0.0) -> Policy:
    zh, en = _NAMES[code]
    return Policy(
        code=code, name_zh=zh, name_en=en, basis=_BASIS, unit=UNIT, yellow=days, red=days + ESCALATE_AFTER_DAYS
    )


NOMINAL = {code: policy(code) for code in _NAMES}  # labels for the clock views


def start(
    session: Session,
    axes: sla_service.Axes,
    action: ImprovementAction,
    step: ActionStep | None,
    due_on: dt.date,
    at: dt.datetime,
    cycle: int = 1,
) -> ActionClock:
    """A running clock due at the end of ``due_on`` (rolled to a working day), started at ``at``."""
    axis = axes(UNIT)
    days = max(0, (due_on - at.astimezone(axis.tz).date()).days)
    code = STEP_DUE if step is not None else ACTION_DUE
    state = engine.new_clock(axis, policy(code, days), action.tenant_id, action.id, cycle, at)
    clock = ActionClock(
        action_id=action.id, step_id=step.id if step is not None else None, **{n: getattr(state, n) for n in _COPIED}
    )
    clock.reminders = 0
    due = clock.yellow_due_at
    if due is not None and due - REMIND_BEFORE > at:
        clock.remind_at = due - REMIND_BEFORE
        clock.next_check_at = clock.remind_at
    session.add(clock)
    return clock


def stop(axes: sla_service.Axes, clock: ActionClock, at: dt.datetime) -> bool:
    if clock.state == engine.STOPPED:
        return False
    engine.stop(axes(clock.unit), clock, max(at, clock.started_at))
    return True


def due_at(clock: ActionClock, due_on: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The deadline the record carries: the clock's (rolled to a working day), or the end of the due day
    when the calendar of that year is not loaded yet."""
    return clock.yellow_due_at or end_of_day(due_on, zone)


def view(axes: sla_service.Axes, clock: ActionClock, locale: str, now: dt.datetime) -> dict[str, Any]:
    shown = clock_view(axes, NOMINAL, cast(Any, clock), locale, now)  # the same engine columns
    return shown | {"step_id": clock.step_id, "remind_at": clock.remind_at, "reminded_at": clock.reminded_at}


def recompute_open_clocks(
    session: Session, tenant_ids: list[int] | None, reason: str, actor: str, provisional_from: dt.date | None = None
) -> int:
    """After a calendar edit: derive every open action and step clock's deadline again (the shared
    :func:`claimwatch.sla.service.refresh_deadlines`), carry it onto the action or step, and note each move in
    the action's audit entries. Returns how many clocks moved."""
    if tenant_ids is None:
        tenant_ids = [tenant.id for tenant in tenancy_repository.all_tenants(session)]
    moved = 0
    for tenant_id in sorted(tenant_ids):
        audit_service.open_chain(session, tenant_id).close()
        statement = select(ActionClock).where(ActionClock.tenant_id == tenant_id, ActionClock.state != engine.STOPPED)
        open_clocks = list(session.execute(statement.order_by(ActionClock.id)).scalars())
        for clock, due_before in sla_service.refresh_deadlines(session, tenant_id, open_clocks, provisional_from):
            action = session.get(ImprovementAction, clock.action_id)
            if action is None or clock.yellow_due_at is None:
                continue
            if clock.step_id is None:
                action.due_at = clock.yellow_due_at
            else:
                step = session.get(ActionStep, clock.step_id)
                if step is not None:
                    step.due_at = clock.yellow_due_at
            audit_service.record(
                session,
                tenant_id,
                "action.deadline_recomputed",
                action.number,
                actor,
                {
                    "step_id": clock.step_id,
                    "reason": reason,
                    "due_before": due_before,
                    "due_after": clock.yellow_due_at,
                },
            )
            moved += 1
    session.flush()
    return moved
