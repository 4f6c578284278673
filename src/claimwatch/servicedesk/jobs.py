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
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.db import utc_now
from claimwatch.notify import service as notify_service
from claimwatch.servicedesk import clocks
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestClock, ServiceRequestEvent
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla import service as sla_service
from claimwatch.sla.jobs import SweepResult
from claimwatch.tenancy import service as tenancy_service

BATCH_SIZE = 500
NOTICE_DUE_SOON = "service_request_due_soon"
NOTICE_OVERDUE = "service_request_overdue"
SYSTEM_ACTOR = "system:servicedesk"
CLOSED_STATUSES = ("resolved", "closed", "cancelled")
_RETRY = dt.timedelta(hours=1)
_WHAT = {clocks.FIRST_RESPONSE: "首次响应", clocks.RESOLUTION: "办结"}


def run_clocks(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepResult:
    """One pass over every tenant's due request clocks; each batch commits on its own."""
    at = now or utc_now()
    return sla_jobs.sweep_clock_table(
        at,
        batch_size,
        clocks.tenants_with_due_clocks,
        clocks.lock_due_clocks,
        lambda session, tenant_id, due, result: _check_batch(session, tenant_id, due, at, result),
    )


def _check_batch(
    session: Session, tenant_id: int, due: Sequence[ServiceRequestClock], now: dt.datetime, result: SweepResult
) -> None:
    ids = sorted({clock.request_id for clock in due})
    requests = {
        request.id: request
        for request in session.execute(
            select(ServiceRequest).where(ServiceRequest.tenant_id == tenant_id, ServiceRequest.id.in_(ids))
        ).scalars()
    }
    axes = sla_service.Axes(session, tenant_id)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    for clock in due:
        request = requests.get(clock.request_id)
        if request is None or clock.state != engine.RUNNING or request.status in CLOSED_STATUSES:
            clock.next_check_at = None
            continue
        _check(session, request, clock, axes, zone, now, result)


def _check(
    session: Session,
    request: ServiceRequest,
    clock: ServiceRequestClock,
    axes: sla_service.Axes,
    zone: ZoneInfo,
    now: dt.datetime,
    result: SweepResult,
) -> None:
    axis = axes(clock.unit)
    engine.advance_light(axis, clock, now)
    overdue = clock.red_due_at is not None and now >= clock.red_due_at
    owed = 2 if overdue else engine.LEVELS[clock.light]
    due = notify_service.local_time(clock.red_due_at, zone=zone) if clock.red_due_at else "—"
    what = _WHAT.get(clock.policy_code, clock.policy_code)
    number = request.number
    link = f"/service-requests/{number}"
    key = f"service_request:{request.id}:{clock.policy_code}:{clock.cycle}"
    detail = {"policy": clock.policy_code, "cycle": clock.cycle, "due": due}
    if clock.escalated < 1 <= owed and not overdue:
        subject = f"服务请求 {number} {what}即将到期"
        body = f"服务请求 {number}（{request.subject}）的{what}时效将于 {due} 到期。"
        _tell(session, request, NOTICE_DUE_SOON, subject, body, f"{key}:yellow", now, link)
        _event(session, request, "due_soon", now, detail)
        result.yellow += 1
    if clock.escalated < 2 <= owed:
        subject = f"服务请求 {number} {what}已超时"
        body = f"服务请求 {number}（{request.subject}）的{what}时效 {due} 已过。"
        _tell(session, request, NOTICE_OVERDUE, subject, body, f"{key}:red", now, link)
        notify_service.notify_staff(
            session,
            request.tenant_id,
            Role.SUPERVISOR.value,
            NOTICE_OVERDUE,
            subject,
            f"{body}请督办。",
            f"{key}:red:supervisor",
            now,
            org_unit_id=request.org_unit_id,
            link=link,
        )
        _event(session, request, "overdue", now, detail)
        result.red += 1
    clock.escalated = max(clock.escalated, owed)
    clock.updated_at = now
    if clock.escalated >= 2:
        clock.next_check_at = None
        return
    upcoming = engine.next_check(axis, clock) or clock.red_due_at
    clock.next_check_at = upcoming if upcoming is None or upcoming > now else now + _RETRY


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
        notify_service.notify_user(
            session, request.tenant_id, request.handler_id, kind, subject, body, key, now, link=link
        )
    else:
        notify_service.notify_staff(
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
