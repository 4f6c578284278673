"""Tasks to third parties, staff side (DESIGN M23): sending a claim's task to a provider with its deadline on the
SLA engine, cancelling and closing it, disputes on its report, and the standard-cooperation rule. No HTTP here,
never commits.

States: sent → accepted | declined → reported → (disputed → reported) → closed; a task still open (sent,
accepted) may be cancelled by staff. The provider's side (accept, decline, report) is
:mod:`claimwatch.providers.provider_service`, which calls :func:`finish_clock` and :func:`evaluate_standard`
when a report arrives.

A task is **standard** (合作规范, seed 003's indicator) when it went out through the platform with the kind's
standard document set, under a contract in force (a service level agreed with the provider), was answered
within its deadline, and its report carries the kind's required fields; ``standard_reasons`` names what failed.

Lock order (as everywhere): each action takes the tenant's audit-chain head first, then reads the task again and
writes its event and audit entry in the same transaction. Messages to the provider go through the outbox
(delivered after commit); notices to staff through ``notify.notify_user``/``notify_staff``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import repository as cases_repository
from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Invalid, NotFound
from claimwatch.notify import service as notify_service
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.notify.models import MessageStatus, OutboxMessage
from claimwatch.params import clean_text
from claimwatch.privacy import field_cipher, keyed_hash
from claimwatch.providers import clocks, loader, portal
from claimwatch.providers import service as provider_service
from claimwatch.providers.loader import TaskKind
from claimwatch.providers.models import Provider, ProviderTask, ProviderTaskEvent, TaskDispute
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_
from claimwatch.workflow import service as workflow_service

NUMBER_PREFIX = "PT"
SENT, ACCEPTED, DECLINED, REPORTED, DISPUTED, CLOSED, CANCELLED = (
    "sent",
    "accepted",
    "declined",
    "reported",
    "disputed",
    "closed",
    "cancelled",
)
OPEN = (SENT, ACCEPTED)  # waiting for the provider: the clock runs
STATUS_LABELS = {
    SENT: N_("Sent"),
    ACCEPTED: N_("Accepted"),
    DECLINED: N_("Declined"),
    REPORTED: N_("Report received"),
    DISPUTED: N_("Report disputed"),
    CLOSED: N_("Closed"),
    CANCELLED: N_("Cancelled"),
}
DISPUTE_BY = ("handler", "claimant")
OUTCOMES = ("upheld", "rejected", "withdrawn")
OUTCOME_LABELS = {
    "upheld": N_("Dispute upheld"),
    "rejected": N_("Dispute rejected"),
    "withdrawn": N_("Dispute withdrawn"),
}
# Why a task is not standard, in the order they are checked.
NOT_STANDARD_DOCUMENTS, LATE, MISSING_FIELDS, NO_CONTRACT = (
    "not_standard_documents",
    "late",
    "missing_fields",
    "no_contract",
)
REASON_LABELS = {
    NOT_STANDARD_DOCUMENTS: N_("Sent without the standard document set"),
    LATE: N_("Report late"),
    MISSING_FIELDS: N_("Report without its required fields"),
    NO_CONTRACT: N_("No contract in force"),
}
REFUSAL_MESSAGES = {
    "suspended": "provider {code} is suspended: it gets no new tasks",
    "blacklisted": "provider {code} is on the sanctions blacklist: it gets no new tasks",
    "licence_expired": "provider {code}'s licence has expired",
    "kind_not_served": "provider {code} does not take {kind} tasks",
}
MAX_DOCUMENTS = 40
MAX_INSTRUCTIONS = 2000
MAX_REASON = 2000
# Staff notice kinds (the lead adds their labels to notify.staff_notices.KIND_LABELS).
NOTICE_DUE_SOON = "provider_task_due_soon"
NOTICE_OVERDUE = "provider_task_overdue"
NOTICE_DISPUTED = "provider_task_disputed"
EMAIL_TEMPLATE = "provider_task"  # the outbox row's template name (the text is rendered here, in Chinese)


class TaskNotFound(NotFound):
    def __init__(self, number: str | int, field: str = "number") -> None:
        super().__init__(field, f"no provider task {number}")


class WrongTaskState(Conflict):
    """409: the action does not fit the task's state, which the message names."""

    def __init__(self, task: ProviderTask, action: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            "status",
            f"provider task {task.number} is {task.status}: '{action}' is possible only when it is "
            f"{', '.join(allowed)}",
        )


def task_url(task: ProviderTask) -> str:
    """The staff page of a task."""
    return f"/provider-tasks/{task.number}"


# -- reading ----------------------------------------------------------------------------------------------


def get_task(session: Session, number: str, field: str = "number") -> ProviderTask:
    """A task of the session's tenant by number (another tenant's is as unknown as a missing one)."""
    found = session.execute(select(ProviderTask).where(ProviderTask.number == number)).scalar_one_or_none()
    if found is None:
        raise TaskNotFound(number, field)
    return found


def _locked_task(session: Session, principal_tenant: int | None, number: str) -> ProviderTask:
    if principal_tenant is not None:
        audit_service.open_chain(session, principal_tenant).close()
    task = get_task(session, number)
    session.refresh(task)
    return task


# -- recording --------------------------------------------------------------------------------------------


def record_event(
    session: Session,
    task: ProviderTask,
    action: str,
    actor: str,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> ProviderTaskEvent:
    """A task event (the task page's history) and its audit-chain entry, in the caller's transaction (the
    caller holds the tenant's chain)."""
    when = at or utc_now()
    payload = to_jsonable_python({key: value for key, value in (detail or {}).items() if value is not None})
    event = ProviderTaskEvent(
        tenant_id=task.tenant_id, task_id=task.id, at=when, action=action, actor=actor, detail=payload
    )
    session.add(event)
    audit_service.record(
        session,
        task.tenant_id,
        f"provider_task.{action}",
        task.number,
        actor,
        {"task": task.number, "action": action, "at": when.isoformat(), "status": task.status} | payload,
    )
    return event


# -- the standard rule -------------------------------------------------------------------------------------


def report_value(task: ProviderTask, name: str) -> Any:
    if name == "amount_assessed":
        return task.amount_assessed
    if name == "conclusion":
        return task.conclusion
    return (task.report_fields or {}).get(name)


def missing_fields(task: ProviderTask, kind: TaskKind | None) -> list[str]:
    """The kind's required report fields the task's report lacks (all of them before a report)."""
    missing = []
    for spec in kind.required_fields if kind is not None else ():
        value = report_value(task, spec.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(spec.name)
    return missing


def evaluate_standard(task: ProviderTask, kind: TaskKind | None) -> tuple[bool, list[str]]:
    """(standard, reasons): sent with the kind's standard document set, under a contract, reported within its
    deadline, with every required field. ``kind`` is the task's :class:`providers.loader.TaskKind`."""
    reasons: list[str] = []
    if not task.standard_documents:
        reasons.append(NOT_STANDARD_DOCUMENTS)
    late = task.on_time is False or task.reported_at is None or task.reported_at > task.due_at
    if late:
        reasons.append(LATE)
    if missing_fields(task, kind):
        reasons.append(MISSING_FIELDS)
    if task.contract_id is None:
        reasons.append(NO_CONTRACT)
    return not reasons, reasons


def finish_clock(session: Session, task: ProviderTask, at: dt.datetime) -> bool:
    """The report arrived at ``at``: stop the task's clock and set ``on_time`` (a task the sweep already
    found late stays late). Returns ``on_time``."""
    clocks.finish(session, task, at)
    on_time = at <= task.due_at and task.on_time is not False
    task.on_time = on_time
    return on_time


def void_clock(session: Session, task: ProviderTask, at: dt.datetime) -> None:
    """The task ends without a report (declined by the provider, cancelled by staff): no result."""
    clocks.void(session, task, at)


# -- sending ----------------------------------------------------------------------------------------------


def claim_for(session: Session, number: str) -> Claim:
    """A claim of the session's tenant by number (404 naming ``claim_number``)."""
    claim = cases_repository.claim_by_number(session, number)
    if claim is None:
        raise NotFound("claim_number", f"no claim {number}")
    return claim


def _is_closed(claim: Claim, at: dt.datetime | None = None) -> bool:
    """Closed now, or - for a task recorded as sent at ``at`` (an import of history, the demo) - closed by then."""
    workflow = workflow_service.registry().get(claim.line)
    closed = workflow is not None and claim.status in workflow.states and workflow.is_terminal(claim.status)
    return closed and (at is None or claim.closed_at is None or claim.closed_at <= at)


def _next_number(session: Session, tenant_id: int, at: dt.datetime, zone: Any) -> str:
    """PT-YYYYMM-NNNNN, counted per tenant and month (the caller holds the tenant's audit chain)."""
    prefix = f"{NUMBER_PREFIX}-{at.astimezone(zone).strftime('%Y%m')}-"
    last = session.execute(
        select(func.max(ProviderTask.number)).where(
            ProviderTask.tenant_id == tenant_id, ProviderTask.number.like(f"{prefix}%")
        )
    ).scalar_one_or_none()
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:05d}"


def _documents(documents: list[str] | None, standard: list[str]) -> list[str]:
    if documents is None:
        return list(standard)
    if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
        raise Invalid("documents", f"documents must be a list of at most {MAX_DOCUMENTS} names")
    cleaned: list[str] = []
    for value in documents:
        name = clean_text(value, "documents", required=False, limit=100)
        if name and name not in cleaned:
            cleaned.append(name)
    return cleaned


def _refuse(code: str, provider: Provider, kind: str) -> Conflict:
    template = REFUSAL_MESSAGES.get(code, "provider {code} gets no new tasks ({reason})")
    return Conflict("provider_code", template.format(code=provider.code, kind=kind, reason=code))


def send_task(
    session: Session,
    principal: Principal,
    *,
    claim_number: str,
    provider_code: str,
    kind: str,
    documents: list[str] | None = None,
    instructions: str | None = None,
    rule: str | None = None,
    at: dt.datetime | None = None,
) -> ProviderTask:
    """Send a claim's task to a provider. Refused, with nothing written: an unknown kind (422 ``kind``), an
    unknown or closed claim (404/409 ``claim_number``), an unknown provider (404 ``provider``), a provider that
    may get no new task — suspended, blacklisted, licence expired, kind not served (409 ``provider_code``).
    ``documents``: the names sent with it (default: the kind's standard set). ``at``: when it was sent (the
    demo backdates; default now)."""
    principal.require(Permission.SEND_PROVIDER_TASKS)
    tenant_id = principal.tenant_id
    if tenant_id is None:
        raise Invalid("tenant", "a task belongs to one insurer")
    when = at or utc_now()
    audit_service.open_chain(session, tenant_id).close()
    kinds = loader.task_kinds(session, tenant_id)
    task_kind = kinds.get(kind)
    if task_kind is None:
        raise Invalid("kind", f"unknown task kind {kind!r} (known: {', '.join(sorted(kinds))})")
    claim = claim_for(session, claim_number)
    if _is_closed(claim, at):
        raise Conflict("claim_number", f"claim {claim.number} is {claim.status}: no new task can be sent")
    provider = provider_service.get_provider(session, provider_code)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    today = when.astimezone(zone).date()
    refusal = provider_service.refusal_for_new_task(session, provider, kind, today)
    if refusal is not None:
        raise _refuse(refusal, provider, kind)
    standard = list(task_kind.standard_documents)
    sent_documents = _documents(documents, standard)
    text = clean_text(instructions, "instructions", required=False, limit=MAX_INSTRUCTIONS)
    level = provider_service.contract_level(session, provider, kind, today)
    task = ProviderTask(
        tenant_id=tenant_id,
        number=_next_number(session, tenant_id, when, zone),
        claim_id=claim.id,
        provider_id=provider.id,
        contract_id=level.contract_id if level.from_contract else None,
        kind=kind,
        status=SENT,
        region_code=claim.region_code,
        line=claim.line,
        handler_user_id=claim.assignee_id,
        sent_at=when,
        sent_by=principal.actor,
        sent_by_rule=rule,
        instructions=text,
        documents=sent_documents,
        standard_documents=set(standard) <= set(sent_documents),
        level_days=int(level.days),
        level_unit=str(level.unit),
        due_at=when,  # replaced by the clock's deadline below
        report_fields={},
        standard_reasons=[],
    )
    session.add(task)
    session.flush()
    clock = clocks.start(session, task, level.days, str(level.unit), task_kind.yellow_share, when)
    assert clock.red_due_at is not None
    task.due_at = clock.red_due_at
    emailed = email_provider(
        session,
        task,
        provider,
        "sent",
        *_sent_text(session, task, provider, task_kind, zone),
    )
    record_event(
        session,
        task,
        "sent",
        principal.actor,
        {
            "claim": claim.number,
            "provider": provider.code,
            "kind": kind,
            "documents": sent_documents,
            "standard_documents": task.standard_documents,
            "level": f"{task.level_days} {task.level_unit}",
            "contract_id": task.contract_id,
            "due_at": task.due_at,
            "rule": rule,
            "emailed": emailed,
        },
        at=when,
    )
    return task


# -- staff actions on a task ------------------------------------------------------------------------------


def cancel_task(
    session: Session, principal: Principal, task_number: str, reason: str, *, at: dt.datetime | None = None
) -> ProviderTask:
    """Withdraw a task still waiting for the provider (sent, accepted); the reason is required. Its clock ends
    without a result and the provider is told."""
    principal.require(Permission.SEND_PROVIDER_TASKS)
    text = clean_text(reason, "reason", required=True, limit=MAX_REASON)
    task = _locked_task(session, principal.tenant_id, task_number)
    if task.status not in OPEN:
        raise WrongTaskState(task, "cancel", OPEN)
    when = at or utc_now()
    task.status = CANCELLED
    task.cancelled_at = when
    task.cancel_reason = text
    void_clock(session, task, when)
    provider = session.get(Provider, task.provider_id)
    emailed = False
    if provider is not None:
        subject = f"【委托撤销】{task.number}"
        body = f"{provider.name}：\n委托任务 {task.number} 已撤销，无需继续办理。\n原因：{text}"
        emailed = email_provider(session, task, provider, "cancelled", subject, body)
    record_event(session, task, "cancelled", principal.actor, {"reason": text, "emailed": emailed}, at=when)
    return task


def close_task(
    session: Session,
    principal: Principal,
    task_number: str,
    note: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> ProviderTask:
    """Close a task whose report is in and undisputed (or that the provider declined)."""
    principal.require(Permission.SEND_PROVIDER_TASKS)
    text = clean_text(note, "note", required=False, limit=MAX_REASON)
    task = _locked_task(session, principal.tenant_id, task_number)
    if task.status not in (REPORTED, DECLINED):
        raise WrongTaskState(task, "close", (REPORTED, DECLINED))
    when = at or utc_now()
    task.status = CLOSED
    task.closed_at = when
    record_event(session, task, "closed", principal.actor, {"note": text}, at=when)
    return task


def raise_dispute(
    session: Session,
    actor: str,
    task_number: str,
    *,
    by_kind: str,
    reason: str,
    at: dt.datetime | None = None,
) -> TaskDispute:
    """A dispute on a task's report, by the handler (staff: the caller checked SEND_PROVIDER_TASKS) or the
    claimant (the lookup page). Only a report that is in can be disputed; the task shows ``disputed`` until
    every dispute on it is resolved."""
    if by_kind not in DISPUTE_BY:
        raise Invalid("by_kind", f"a dispute is raised by {' or '.join(DISPUTE_BY)}, not {by_kind!r}")
    text = clean_text(reason, "reason", required=True, limit=MAX_REASON)
    assert text is not None
    task = get_task(session, task_number)
    audit_service.open_chain(session, task.tenant_id).close()
    session.refresh(task)
    if task.status not in (REPORTED, DISPUTED):
        raise WrongTaskState(task, "dispute", (REPORTED, DISPUTED))
    when = at or utc_now()
    dispute = TaskDispute(
        tenant_id=task.tenant_id,
        task_id=task.id,
        raised_by_kind=by_kind,
        raised_by=actor,
        reason=text,
        raised_at=when,
    )
    session.add(dispute)
    task.status = DISPUTED
    session.flush()
    record_event(session, task, "disputed", actor, {"dispute_id": dispute.id, "by": by_kind, "reason": text}, at=when)
    if task.handler_user_id is not None and by_kind == "claimant":
        notify_staff_notices.notify_user(
            session,
            task.tenant_id,
            task.handler_user_id,
            NOTICE_DISPUTED,
            f"委托 {task.number} 报告有异议",
            f"客户对委托任务 {task.number} 的报告提出异议，请处理。",
            f"provider_task:{task.id}:dispute:{dispute.id}",
            when,
            link=task_url(task),
        )
    return dispute


def number_of(session: Session, task_id: int) -> str:
    task = session.get(ProviderTask, task_id)
    if task is None:
        raise TaskNotFound(task_id, "task_id")
    return task.number


def get_dispute(session: Session, dispute_id: int) -> TaskDispute:
    found = session.get(TaskDispute, dispute_id)
    if found is None:
        raise NotFound("dispute_id", f"no dispute {dispute_id}")
    return found


def resolve_dispute(
    session: Session,
    principal: Principal,
    dispute_id: int,
    outcome: str,
    note: str | None,
    *,
    at: dt.datetime | None = None,
) -> TaskDispute:
    """Decide a dispute: upheld (the report was wrong), rejected (it stands) or withdrawn; a note is required
    except for a withdrawal. The task is ``reported`` again once no dispute on it is open."""
    principal.require(Permission.RESOLVE_TASK_DISPUTES)
    if outcome not in OUTCOMES:
        raise Invalid("outcome", f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    text = clean_text(note, "note", required=outcome != "withdrawn", limit=MAX_REASON)
    if principal.tenant_id is not None:
        audit_service.open_chain(session, principal.tenant_id).close()
    dispute = get_dispute(session, dispute_id)
    session.refresh(dispute)
    if dispute.outcome is not None:
        raise Conflict("dispute_id", f"dispute {dispute_id} was already resolved: {dispute.outcome}")
    task = session.get(ProviderTask, dispute.task_id)
    assert task is not None
    when = at or utc_now()
    dispute.outcome = outcome
    dispute.resolution_note = text
    dispute.resolved_by = principal.actor
    dispute.resolved_at = when
    session.flush()
    still_open = session.execute(
        select(func.count())
        .select_from(TaskDispute)
        .where(TaskDispute.task_id == task.id, TaskDispute.outcome.is_(None))
    ).scalar_one()
    if not still_open and task.status == DISPUTED:
        task.status = REPORTED
    record_event(
        session,
        task,
        "dispute_resolved",
        principal.actor,
        {"dispute_id": dispute.id, "outcome": outcome, "note": text},
        at=when,
    )
    return dispute


# -- messages to the provider -----------------------------------------------------------------------------


def due_text(task: ProviderTask, zone: Any) -> str:
    """The deadline as the provider reads it: a day (whole-day levels) or a local time (hours)."""
    if task.level_unit == "hours":
        return notify_service.local_time(task.due_at, zone=zone)
    return notify_service.local_due_date(task.due_at, zone=zone) or ""


def kind_name(kinds: dict[str, TaskKind], code: str, locale: str) -> str:
    kind = kinds.get(code)
    return kind.name(locale) if kind is not None else code


def _sent_text(session: Session, task: ProviderTask, provider: Provider, kind: TaskKind, zone: Any) -> tuple[str, str]:
    tenant = tenancy_repository.tenant_by_id(session, task.tenant_id)
    insurer = tenant.name if tenant is not None else ""
    name = kind.name("zh")
    line = workflow_service.line_label(task.line, "zh") if task.line else ""
    documents = "、".join(task.documents) if task.documents else "无"
    lines = [
        f"{provider.name}：",
        f"{insurer}委托贵单位办理「{name}」（任务号 {task.number}，{line}理赔）。",
        f"请于 {due_text(task, zone)} 前提交报告。",
        f"随附材料：{documents}",
    ]
    if task.instructions:
        lines.append(f"说明：{task.instructions}")
    lines.append(f"接受、拒绝或上传报告：{portal.task_link(task)}")
    return f"【委托】{name} {task.number}", "\n".join(lines)


def email_provider(
    session: Session, task: ProviderTask, provider: Provider, what: str, subject: str, body: str
) -> bool:
    """One e-mail to the provider's contact through the outbox (delivered after commit); False when the
    provider has no e-mail address. At most one per (task, what)."""
    address = provider_service.contact_email(provider)
    if not address:
        return False
    key = f"provider_task:{task.id}:{what}:email"
    exists = session.execute(
        select(OutboxMessage.id).where(OutboxMessage.tenant_id == task.tenant_id, OutboxMessage.idempotency_key == key)
    ).first()
    if exists is not None:
        return True
    now = utc_now()
    session.add(
        OutboxMessage(
            tenant_id=task.tenant_id,
            claim_id=None,
            reference=task.number,
            channel="email",
            recipient_enc=field_cipher().encrypt(address),
            recipient_hash=keyed_hash(address.strip().lower()),
            template=EMAIL_TEMPLATE,
            locale="zh",
            event_ref=None,
            about_status=what[:32],
            subject=subject[:300],
            body=body,
            idempotency_key=key,
            status=MessageStatus.QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    return True
