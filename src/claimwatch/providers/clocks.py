"""A provider task's deadline on the SLA engine, the way :mod:`claimwatch.rectification.clocks` runs rectification
clocks: a :class:`ProviderTaskClock` row has the engine's columns, so the same arithmetic (working days on the
tenant's calendar, calendar days rolled to a working day, elapsed hours; provisional 暂定 years) runs here.

The policy is built in code from the task's level (the contract's service level for the kind, or the kind's
default), not read from a policy file: every contract may set its own days. Its two thresholds mean:

- yellow at the kind's ``yellow_share`` of the level (0.7): the provider is reminded, the handler told;
- red at the level itself: the deadline (``ProviderTask.due_at``); passing it is late.

The engine calls passing yellow a "breach"; for a task only the red deadline counts, so :func:`finish` sets the
outcome (met | breached) and ``missed_by`` against the red deadline after the engine stopped the clock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import Unit
from claimwatch.providers.models import ProviderTask, ProviderTaskClock
from claimwatch.sla import engine, subject_clocks
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy

POLICY_CODE = "provider_task"
DEFAULT_YELLOW_SHARE = 0.7


def task_policy(days: float, unit: str, yellow_share: float = DEFAULT_YELLOW_SHARE) -> Policy:
    """The task clock's policy for a level of ``days`` ``unit`` (working_days | calendar_days | hours)."""
    share = yellow_share if 0 < yellow_share < 1 else DEFAULT_YELLOW_SHARE
    return Policy(
        code=POLICY_CODE,
        name_zh="第三方机构委托时限",
        name_en="Provider task deadline",
        basis="contract service level (合作协议服务时效)",
        unit=Unit(unit),
        yellow=float(days) * share,
        red=float(days),
    )


def clocks_of(session: Session, task_ids: list[int]) -> dict[int, ProviderTaskClock]:
    """The latest clock of each task."""
    if not task_ids:
        return {}
    statement = (
        select(ProviderTaskClock)
        .where(ProviderTaskClock.task_id.in_(sorted(set(task_ids))))
        .order_by(ProviderTaskClock.task_id, ProviderTaskClock.cycle)
    )
    return {clock.task_id: clock for clock in session.execute(statement).scalars()}


def clock_of(session: Session, task: ProviderTask) -> ProviderTaskClock | None:
    return clocks_of(session, [task.id]).get(task.id)


def start(
    session: Session, task: ProviderTask, days: float, unit: str, yellow_share: float, at: dt.datetime
) -> ProviderTaskClock:
    """Start the task's clock at ``at``; refuses (409, field ``calendar``) a deadline in a year without a
    working-day calendar rather than guess it."""
    policy = task_policy(days, unit, yellow_share)
    return subject_clocks.start(session, ProviderTaskClock, policy, task.tenant_id, {"task_id": task.id}, at)


def finish(session: Session, task: ProviderTask, at: dt.datetime) -> ProviderTaskClock | None:
    """Stop the task's clock at ``at`` (its report arrived): outcome met or breached against the deadline."""
    clock = clock_of(session, task)
    return subject_clocks.finish(session, task.tenant_id, clock, at, task.due_at) if clock is not None else None


def void(session: Session, task: ProviderTask, at: dt.datetime) -> ProviderTaskClock | None:
    """End the clock without a result (the task was cancelled or declined): counts neither met nor late."""
    clock = clock_of(session, task)
    return subject_clocks.void(session, task.tenant_id, clock, at) if clock is not None else None


light = subject_clocks.light
clock_view = subject_clocks.clock_view


# -- a calendar edit ---------------------------------------------------------------------------------------


def recompute_open_clocks(
    session: Session, tenant_ids: list[int] | None, provisional_from: dt.date | None = None
) -> int:
    """After a calendar edit: derive every running task clock's deadlines again and copy the deadline to the
    task (``due_at``). A task whose report is in keeps its deadline. Returns how many moved."""
    statement = select(ProviderTaskClock).where(ProviderTaskClock.state != engine.STOPPED)
    if tenant_ids is not None:
        statement = statement.where(ProviderTaskClock.tenant_id.in_(tenant_ids))
    by_tenant: dict[int, list[ProviderTaskClock]] = {}
    for clock in session.execute(statement.order_by(ProviderTaskClock.id)).scalars():
        by_tenant.setdefault(clock.tenant_id, []).append(clock)
    moved = 0
    for tenant_id in sorted(by_tenant):
        for clock, _ in sla_service.refresh_deadlines(session, tenant_id, by_tenant[tenant_id], provisional_from):
            task = session.get(ProviderTask, clock.task_id)
            if task is not None and clock.red_due_at is not None:
                task.due_at = clock.red_due_at
            moved += 1
    session.flush()
    return moved
