"""The service-request sweep (worker pass ``servicedesk.jobs.run_clocks()``): turn the clocks' lights and tell
people once per level, as the underwriting and provider-task sweeps do.

- Yellow (``yellow_share`` of a target): ``service_request_due_soon`` to the request's handler, or to the team's
  handlers (客服, the complaint-handler role) while nobody has taken it.
- Red (the deadline passed): ``service_request_overdue`` to the handler (or the handlers) and to the supervisors of
  the request's unit.

Each notice has a dedupe key per (request, clock, cycle, level); the request's history gets a ``due_soon`` or
``overdue`` event. Tenant by tenant, each batch in its own transaction that takes the tenant's audit chain first and
then the clock rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers never double a notice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.notify import service as notify_service
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.servicedesk import clocks
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestClock, ServiceRequestEvent
from claimwatch.sla.jobs import SweepResult
from claimwatch.sla.subject_sweep import BatchContext, SubjectSweep

BATCH_SIZE = 500
NOTICE_DUE_SOON = "service_request_due_soon"
NOTICE_OVERDUE = "service_request_overdue"
SYSTEM_ACTOR = "system:servicedesk"
CLOSED_STATUSES = ("resolved", "closed", "cancelled")
_WHAT = {clocks.FIRST_RESPONSE: "首次响应", clocks.RESOLUTION: "办结"}


def _requests(session: Session, tenant_id: int, ids: list[int]) -> dict[int, ServiceRequest]:
    found = select(ServiceRequest).where(ServiceRequest.tenant_id == tenant_id, ServiceRequest.id.in_(ids))
    return {request.id: request for request in session.execute(found).scalars()}


def _notice(
    context: BatchContext, request: ServiceRequest, clock: ServiceRequestClock
) -> tuple[str, str, str, dict[str, object]]:
    """What, until when, the dedupe key's stem and the event's detail of a level on this clock."""
    due = notify_service.local_time(clock.red_due_at, zone=context.zone) if clock.red_due_at else "—"
    key = f"service_request:{request.id}:{clock.policy_code}:{clock.cycle}"
    return (
        _WHAT.get(clock.policy_code, clock.policy_code),
        due,
        key,
        {
            "policy": clock.policy_code,
            "cycle": clock.cycle,
            "due": due,
        },
    )


def _due_soon(context: BatchContext, request: ServiceRequest, clock: ServiceRequestClock) -> None:
    what, due, key, detail = _notice(context, request, clock)
    number = request.number
    subject = f"服务请求 {number} {what}即将到期"
    body = f"服务请求 {number}（{request.subject}）的{what}时效将于 {due} 到期。"
    _tell(context.session, request, NOTICE_DUE_SOON, subject, body, f"{key}:yellow", context.now, _link(request))
    _event(context.session, request, "due_soon", context.now, detail)


def _overdue(context: BatchContext, request: ServiceRequest, clock: ServiceRequestClock) -> None:
    what, due, key, detail = _notice(context, request, clock)
    number = request.number
    subject = f"服务请求 {number} {what}已超时"
    body = f"服务请求 {number}（{request.subject}）的{what}时效 {due} 已过。"
    _tell(context.session, request, NOTICE_OVERDUE, subject, body, f"{key}:red", context.now, _link(request))
    notify_staff_notices.notify_staff(
        context.session,
        request.tenant_id,
        Role.SUPERVISOR.value,
        NOTICE_OVERDUE,
        subject,
        f"{body}请督办。",
        f"{key}:red:supervisor",
        context.now,
        org_unit_id=request.org_unit_id,
        link=_link(request),
    )
    _event(context.session, request, "overdue", context.now, detail)


def _link(request: ServiceRequest) -> str:
    return f"/service-requests/{request.number}"


SWEEP: SubjectSweep[ServiceRequest, ServiceRequestClock] = SubjectSweep(
    clock_table=ServiceRequestClock,
    subject_id=lambda clock: clock.request_id,
    load_subjects=_requests,
    is_open=lambda request: request.status not in CLOSED_STATUSES,
    on_yellow=_due_soon,
    on_red=_overdue,
)


def run_clocks(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepResult:
    """One pass over every tenant's due request clocks; each batch commits on its own."""
    return SWEEP.run(now, batch_size)


def _event(session: Session, request: ServiceRequest, kind: str, at: dt.datetime, detail: dict[str, object]) -> None:
    session.add(
        ServiceRequestEvent(
            tenant_id=request.tenant_id, request_id=request.id, kind=kind, actor=SYSTEM_ACTOR, at=at, detail=detail
        )
    )


def _tell(
    session: Session,
    request: ServiceRequest,
    kind: str,
    subject: str,
    body: str,
    key: str,
    now: dt.datetime,
    link: str,
) -> None:
    """The request's handler, or the insurer's 客服 handlers (of the request's unit) while nobody has taken it."""
    if request.handler_id is not None:
        notify_staff_notices.notify_user(
            session, request.tenant_id, request.handler_id, kind, subject, body, key, now, link=link
        )
    else:
        notify_staff_notices.notify_staff(
            session,
            request.tenant_id,
            Role.COMPLAINT_HANDLER.value,
            kind,
            subject,
            body,
            key,
            now,
            org_unit_id=request.org_unit_id,
            link=link,
        )
