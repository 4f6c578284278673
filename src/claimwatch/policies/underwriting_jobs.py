"""The underwriting turnaround sweep (worker pass ``policies.underwriting_jobs.run_clocks()``): turn the clocks'
lights and tell people once per level, as the provider-task sweep does.

- Yellow (:data:`underwriting_clocks.YELLOW_SHARE` of the target): a notice to the case's underwriter, or to the
  underwriters of the insurer when nobody has taken it yet.
- Red (the target passed, no decision): a notice to the underwriter and to the supervisors of the case's unit.

Tenant by tenant, each batch in its own transaction that takes the tenant's audit chain first and then the clock
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a level fires once per clock and every notice has a dedupe key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.notify import service as notify_service
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.policies import underwriting
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock
from claimwatch.sla.jobs import SweepResult
from claimwatch.sla.subject_sweep import BatchContext, SubjectSweep

BATCH_SIZE = 500
NOTICE_DUE_SOON = "underwriting_due_soon"
NOTICE_OVERDUE = "underwriting_overdue"


def _cases(session: Session, tenant_id: int, ids: list[int]) -> dict[int, UnderwritingCase]:
    found = select(UnderwritingCase).where(UnderwritingCase.tenant_id == tenant_id, UnderwritingCase.id.in_(ids))
    return {case.id: case for case in session.execute(found).scalars()}


def _due(context: BatchContext, clock: UnderwritingClock) -> str:
    return notify_service.local_due_date(clock.red_due_at, zone=context.zone) or "—"


def _due_soon(context: BatchContext, case: UnderwritingCase, clock: UnderwritingClock) -> None:
    due = _due(context, clock)
    number = case.application_number
    subject = f"核保 {number} 即将到期"
    body = f"投保申请 {number}（{case.product_code}）的核保时效将于 {due} 到期，尚未作出核保结论。"
    _tell(context.session, case, NOTICE_DUE_SOON, subject, body, f"underwriting:{case.id}:yellow", context.now)
    underwriting.record_event(context.session, case, "reminded", underwriting.SYSTEM_ACTOR, {"due": due}, context.now)


def _overdue(context: BatchContext, case: UnderwritingCase, clock: UnderwritingClock) -> None:
    due = _due(context, clock)
    number = case.application_number
    subject = f"核保 {number} 已超时效"
    body = f"投保申请 {number}（{case.product_code}）的核保时效 {due} 已过，尚未作出核保结论。"
    _tell(context.session, case, NOTICE_OVERDUE, subject, body, f"underwriting:{case.id}:red", context.now)
    notify_staff_notices.notify_staff(
        context.session,
        case.tenant_id,
        Role.SUPERVISOR.value,
        NOTICE_OVERDUE,
        subject,
        f"{body}请督办。",
        f"underwriting:{case.id}:red:supervisor",
        context.now,
        org_unit_id=case.org_unit_id,
        link=_link(case),
    )
    underwriting.record_event(context.session, case, "escalated", underwriting.SYSTEM_ACTOR, {"due": due}, context.now)


def _link(case: UnderwritingCase) -> str:
    return f"/underwriting/{case.application_number}"


SWEEP: SubjectSweep[UnderwritingCase, UnderwritingClock] = SubjectSweep(
    clock_table=UnderwritingClock,
    subject_id=lambda clock: clock.case_id,
    load_subjects=_cases,
    is_open=lambda case: case.status in underwriting.OPEN,
    on_yellow=_due_soon,
    on_red=_overdue,
)


def run_clocks(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepResult:
    """One pass over every tenant's due underwriting clocks; each batch commits on its own."""
    return SWEEP.run(now, batch_size)


def _tell(
    session: Session,
    case: UnderwritingCase,
    kind: str,
    subject: str,
    body: str,
    key: str,
    now: dt.datetime,
) -> None:
    """The case's underwriter, or every underwriter of the insurer while nobody has taken it."""
    if case.reviewer_id is not None:
        notify_staff_notices.notify_user(
            session, case.tenant_id, case.reviewer_id, kind, subject, body, key, now, link=_link(case)
        )
    else:
        notify_staff_notices.notify_staff(
            session, case.tenant_id, Role.UNDERWRITER.value, kind, subject, body, key, now, link=_link(case)
        )
