"""The provider-task sweep (worker pass ``providers.jobs.run_task_clocks()``): turn the task clocks' lights and
tell people once per level.

- Yellow (the kind's share of the level, 0.7): a reminder e-mail to the provider's contact and a notice to the
  task's handler.
- Red (the deadline passed, no report): an overdue e-mail to the provider, a notice to the handler and to the
  supervisors of the handler's unit (or the claim's unit); the task is marked ``on_time=False, standard=False``
  with its reasons — final, whatever arrives later.

Like the rectification sweep it reads only clocks whose ``next_check_at`` has come, tenant by tenant, each batch in
its own transaction that takes the tenant's audit chain first and then the clock rows (``FOR UPDATE SKIP LOCKED``
on PostgreSQL). A level fires once per clock (``escalated`` only grows under the row lock) and every notice carries
a dedupe key, so two sweeps racing cannot send one twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role, User
from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.notify import service as notify_service
from claimwatch.providers import clocks, loader, task_service
from claimwatch.providers.models import Provider, ProviderTask, ProviderTaskClock
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service

SYSTEM_ACTOR = "system:providers"
BATCH_SIZE = 500
_RETRY = dt.timedelta(hours=1)


# A pass's counts (the SLA sweep's: clocks checked, yellow and red levels fired, clocks per tenant).
TaskSweepResult = sla_jobs.SweepResult


def run_task_clocks(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> TaskSweepResult:
    """One pass over every tenant's due provider-task clocks; each batch commits on its own (the worker calls
    this beside the rectification sweep)."""
    at = now or utc_now()
    return sla_jobs.sweep_clock_table(
        at,
        batch_size,
        clocks.tenants_with_due_clocks,
        clocks.lock_due_clocks,
        lambda session, tenant_id, due, result: _check_batch(session, tenant_id, due, at, result),
    )


def _check_batch(
    session: Session, tenant_id: int, due: Sequence[ProviderTaskClock], now: dt.datetime, result: TaskSweepResult
) -> None:
    ids = sorted({clock.task_id for clock in due})
    tasks = {
        task.id: task
        for task in session.execute(
            select(ProviderTask).where(ProviderTask.tenant_id == tenant_id, ProviderTask.id.in_(ids))
        ).scalars()
    }
    context = _Context(session, tenant_id)
    for clock in due:
        task = tasks.get(clock.task_id)
        if task is not None:
            _check(context, task, clock, now, result)
        else:
            clock.next_check_at = None


class _Context:
    """What one batch reads once: the tenant's axes, zone and task kinds."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.axes = sla_service.Axes(session, tenant_id)
        self.zone = tenancy_service.tenant_zone(session, tenant_id)
        self.kinds = loader.task_kinds(session, tenant_id)


def _check(
    context: _Context, task: ProviderTask, clock: ProviderTaskClock, now: dt.datetime, result: TaskSweepResult
) -> None:
    if clock.state != engine.RUNNING or task.status not in task_service.OPEN:
        # The report came (or the task ended) before the sweep looked: nothing to warn about any more.
        clock.next_check_at = None
        return
    axis = context.axes(clock.unit)
    engine.advance_light(axis, clock, now)
    overdue = clock.red_due_at is not None and now >= clock.red_due_at
    owed = 2 if overdue else engine.LEVELS[clock.light]
    if clock.escalated < 1 <= owed and not overdue:
        _remind(context, task, clock, now)
        result.yellow += 1
    if clock.escalated < 2 <= owed:
        _overdue(context, task, clock, now)
        result.red += 1
    clock.escalated = max(clock.escalated, owed)
    clock.updated_at = now
    if clock.escalated >= 2:
        clock.next_check_at = None  # nothing more to tell until the report stops the clock
        return
    upcoming = engine.next_check(axis, clock)
    if upcoming is None and clock.red_due_at is not None:
        upcoming = clock.red_due_at
    clock.next_check_at = upcoming if upcoming is None or upcoming > now else now + _RETRY


def _handler_unit(session: Session, task: ProviderTask, claim: Claim | None) -> int | None:
    if task.handler_user_id is not None:
        user = session.get(User, task.handler_user_id)
        if user is not None and user.org_unit_id is not None:
            return user.org_unit_id
    return claim.org_unit_id if claim is not None else None


def _parts(context: _Context, task: ProviderTask) -> tuple[Provider | None, Claim | None, str, str]:
    provider = context.session.get(Provider, task.provider_id)
    claim = context.session.get(Claim, task.claim_id)
    name = task_service.kind_name(context.kinds, task.kind, "zh")
    return provider, claim, name, task_service.due_text(task, context.zone)


def _remind(context: _Context, task: ProviderTask, clock: ProviderTaskClock, now: dt.datetime) -> None:
    session = context.session
    provider, claim, name, due = _parts(context, task)
    emailed = False
    if provider is not None:
        emailed = task_service.email_provider(
            session,
            task,
            provider,
            "reminder",
            f"【提醒】{name} {task.number} 将于 {due} 到期",
            f"{provider.name}：\n委托任务 {task.number}（{name}）的报告期限为 {due}，请按时提交。",
        )
    number = claim.number if claim is not None else ""
    told = notify_service.notify_user(
        session,
        task.tenant_id,
        task.handler_user_id,
        task_service.NOTICE_DUE_SOON,
        f"委托 {task.number} 即将到期",
        f"案件 {number} 的委托任务 {task.number}（{name}，{_provider_name(provider)}）将于 {due} 到期，尚无报告。",
        f"provider_task:{task.id}:yellow:handler",
        now,
        link=task_service.task_url(task),
    )
    task.reminded_at = now
    clock.reminders += 1
    clock.reminded_at = now
    task_service.record_event(
        session,
        task,
        "reminded",
        SYSTEM_ACTOR,
        {"due_at": task.due_at, "emailed": emailed, "handler_told": told},
        at=now,
    )


def _overdue(context: _Context, task: ProviderTask, clock: ProviderTaskClock, now: dt.datetime) -> None:
    session = context.session
    provider, claim, name, due = _parts(context, task)
    number = claim.number if claim is not None else ""
    emailed = False
    if provider is not None:
        emailed = task_service.email_provider(
            session,
            task,
            provider,
            "overdue",
            f"【超期】{name} {task.number} 已过期限 {due}",
            f"{provider.name}：\n委托任务 {task.number}（{name}）的报告期限 {due} 已过，请立即提交报告。",
        )
    subject = f"委托 {task.number} 已超期"
    body = f"案件 {number} 的委托任务 {task.number}（{name}，{_provider_name(provider)}）期限 {due} 已过，尚无报告。"
    told: list[str] = []
    if notify_service.notify_user(
        session,
        task.tenant_id,
        task.handler_user_id,
        task_service.NOTICE_OVERDUE,
        subject,
        body,
        f"provider_task:{task.id}:red:handler",
        now,
        link=task_service.task_url(task),
    ):
        told.append("handler")
    if notify_service.notify_staff(
        session,
        task.tenant_id,
        Role.SUPERVISOR.value,
        task_service.NOTICE_OVERDUE,
        subject,
        f"{body}请督办。",
        f"provider_task:{task.id}:red:supervisor",
        now,
        org_unit_id=_handler_unit(session, task, claim),
        claim_id=task.claim_id,
        link=task_service.task_url(task),
    ):
        told.append(Role.SUPERVISOR.value)
    # Final: no report by the deadline. A report that comes later is still late.
    task.on_time = False
    task.standard = False
    kind = context.kinds.get(task.kind)
    _, reasons = task_service.evaluate_standard(task, kind)
    task.standard_reasons = reasons
    task.escalated_at = now
    task_service.record_event(
        session,
        task,
        "escalated",
        SYSTEM_ACTOR,
        {"due_at": task.due_at, "emailed": emailed, "notified": told, "standard_reasons": reasons},
        at=now,
    )


def _provider_name(provider: Provider | None) -> str:
    return provider.name if provider is not None else "—"
