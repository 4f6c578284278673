"""The underwriting turnaround sweep (worker pass ``policies.underwriting_jobs.run_clocks()``): turn the clocks'
lights and tell people once per level, as the provider-task sweep does.

- Yellow (:data:`underwriting_clocks.YELLOW_SHARE` of the target): a notice to the case's underwriter, or to the
  underwriters of the insurer when nobody has taken it yet.
- Red (the target passed, no decision): a notice to the underwriter and to the supervisors of the case's unit.

Tenant by tenant, each batch in its own transaction that takes the tenant's audit chain first and then the clock
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a level fires once per clock and every notice has a dedupe key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.db import utc_now
from claimwatch.notify import service as notify_service
from claimwatch.policies import underwriting, underwriting_clocks
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla import service as sla_service
from claimwatch.sla.jobs import SweepResult
from claimwatch.tenancy import service as tenancy_service

BATCH_SIZE = 500
NOTICE_DUE_SOON = "underwriting_due_soon"
NOTICE_OVERDUE = "underwriting_overdue"
_RETRY = dt.timedelta(hours=1)


def run_clocks(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepResult:
    """One pass over every tenant's due underwriting clocks; each batch commits on its own."""
    at = now or utc_now()
    return sla_jobs.sweep_clock_table(
        at,
        batch_size,
        underwriting_clocks.tenants_with_due_clocks,
        underwriting_clocks.lock_due_clocks,
        lambda session, tenant_id, due, result: _check_batch(session, tenant_id, due, at, result),
    )


def _check_batch(
    session: Session, tenant_id: int, due: Sequence[UnderwritingClock], now: dt.datetime, result: SweepResult
) -> None:
    ids = sorted({clock.case_id for clock in due})
    cases = {
        case.id: case
        for case in session.execute(
            select(UnderwritingCase).where(UnderwritingCase.tenant_id == tenant_id, UnderwritingCase.id.in_(ids))
        ).scalars()
    }
    axes = sla_service.Axes(session, tenant_id)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    for clock in due:
        case = cases.get(clock.case_id)
        if case is None or clock.state != engine.RUNNING or case.status not in underwriting.OPEN:
            clock.next_check_at = None
            continue
        _check(session, case, clock, axes, zone, now, result)


def _check(
    session: Session,
    case: UnderwritingCase,
    clock: UnderwritingClock,
    axes: sla_service.Axes,
    zone: ZoneInfo,
    now: dt.datetime,
    result: SweepResult,
) -> None:
    axis = axes(clock.unit)
    engine.advance_light(axis, clock, now)
    overdue = clock.red_due_at is not None and now >= clock.red_due_at
    owed = 2 if overdue else engine.LEVELS[clock.light]
    due = notify_service.local_due_date(clock.red_due_at, zone=zone) or "—"
    link = f"/underwriting/{case.application_number}"
    number = case.application_number
    if clock.escalated < 1 <= owed and not overdue:
        subject = f"核保 {number} 即将到期"
        body = f"投保申请 {number}（{case.product_code}）的核保时效将于 {due} 到期，尚未作出核保结论。"
        _tell(session, case, NOTICE_DUE_SOON, subject, body, f"underwriting:{case.id}:yellow", now, link)
        underwriting.record_event(session, case, "reminded", underwriting.SYSTEM_ACTOR, {"due": due}, now)
        result.yellow += 1
    if clock.escalated < 2 <= owed:
        subject = f"核保 {number} 已超时效"
        body = f"投保申请 {number}（{case.product_code}）的核保时效 {due} 已过，尚未作出核保结论。"
        _tell(session, case, NOTICE_OVERDUE, subject, body, f"underwriting:{case.id}:red", now, link)
        notify_service.notify_staff(
            session,
            case.tenant_id,
            Role.SUPERVISOR.value,
            NOTICE_OVERDUE,
            subject,
            f"{body}请督办。",
            f"underwriting:{case.id}:red:supervisor",
            now,
            org_unit_id=case.org_unit_id,
            link=link,
        )
        underwriting.record_event(session, case, "escalated", underwriting.SYSTEM_ACTOR, {"due": due}, now)
        result.red += 1
    clock.escalated = max(clock.escalated, owed)
    clock.updated_at = now
    if clock.escalated >= 2:
        clock.next_check_at = None
        return
    upcoming = engine.next_check(axis, clock) or clock.red_due_at
    clock.next_check_at = upcoming if upcoming is None or upcoming > now else now + _RETRY


def _tell(
    session: Session,
    case: UnderwritingCase,
    kind: str,
    subject: str,
    body: str,
    key: str,
    now: dt.datetime,
    link: str,
) -> None:
    """The case's underwriter, or every underwriter of the insurer while nobody has taken it."""
    if case.reviewer_id is not None:
        notify_service.notify_user(session, case.tenant_id, case.reviewer_id, kind, subject, body, key, now, link=link)
    else:
        notify_service.notify_staff(
            session, case.tenant_id, Role.UNDERWRITER.value, kind, subject, body, key, now, link=link
        )
