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

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role, User
from claimwatch.cases.models import Claim
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.providers import loader, task_service
from claimwatch.providers.models import Provider, ProviderTask, ProviderTaskClock
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla.subject_sweep import BatchContext, SubjectSweep

SYSTEM_ACTOR = "system:providers"
BATCH_SIZE = 500


# A pass's counts (the SLA sweep's: clocks checked, yellow and red levels fired, clocks per tenant).
TaskSweepResult = sla_jobs.SweepResult


def _tasks(session: Session, tenant_id: int, ids: list[int]) -> dict[int, ProviderTask]:
    found = select(ProviderTask).where(ProviderTask.tenant_id == tenant_id, ProviderTask.id.in_(ids))
    return {task.id: task for task in session.execute(found).scalars()}


def run_task_clocks(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> TaskSweepResult:
    """One pass over every tenant's due provider-task clocks; each batch commits on its own (the worker calls
    this beside the rectification sweep)."""
    return SWEEP.run(now, batch_size)


def _handler_unit(session: Session, task: ProviderTask, claim: Claim | None) -> int | None:
    if task.handler_user_id is not None:
        user = session.get(User, task.handler_user_id)
        if user is not None and user.org_unit_id is not None:
            return user.org_unit_id
    return claim.org_unit_id if claim is not None else None


def _parts(context: BatchContext, task: ProviderTask) -> tuple[Provider | None, Claim | None, str, str]:
    provider = context.session.get(Provider, task.provider_id)
    claim = context.session.get(Claim, task.claim_id)
    name = task_service.kind_name(context.extra, task.kind, "zh")
    return provider, claim, name, task_service.due_text(task, context.zone)


def _remind(context: BatchContext, task: ProviderTask, clock: ProviderTaskClock) -> None:
    session, now = context.session, context.now
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
    told = notify_staff_notices.notify_user(
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


def _overdue(context: BatchContext, task: ProviderTask, clock: ProviderTaskClock) -> None:
    session, now = context.session, context.now
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
    if notify_staff_notices.notify_user(
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
    if notify_staff_notices.notify_staff(
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
    kind = context.extra.get(task.kind)
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


SWEEP: SubjectSweep[ProviderTask, ProviderTaskClock] = SubjectSweep(
    clock_table=ProviderTaskClock,
    subject_id=lambda clock: clock.task_id,
    load_subjects=_tasks,
    # The report came (or the task ended) before the sweep looked: nothing to warn about any more.
    is_open=lambda task: task.status in task_service.OPEN,
    on_yellow=_remind,
    on_red=_overdue,
    batch_extra=loader.task_kinds,
)
