"""The complaint sweep: turn lights as complaint deadlines pass, warn staff once per level, and close
complaints whose review window lapsed.

Like the SLA sweep it reads only clocks whose ``next_check_at`` has come, tenant by tenant, each batch in
its own transaction that takes the tenant's audit chain first and then the clock rows (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL). A level fires once per clock: ``escalated`` only grows under the row lock, and the
staff notices carry a dedupe key per (clock, level), so even two sweeps racing cannot send one twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.complaints import clocks, letters, repository
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints.models import Complaint, ComplaintClock
from claimwatch.complaints.vocabulary import category_label
from claimwatch.db import utc_now
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs

SYSTEM_ACTOR = "system:complaints"
BATCH_SIZE = 500
# A clock that cannot be decided now (e.g. a year without calendar data) is looked at again later.
_RETRY = dt.timedelta(hours=1)


@dataclass
class ComplaintSweepResult(sla_jobs.SweepResult):
    closed: int = 0


def sweep(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> ComplaintSweepResult:
    """One pass over every tenant's due complaint clocks (the SLA sweep's loop); each batch commits on its
    own."""
    at = now or utc_now()
    return sla_jobs.sweep_clock_table(
        at,
        batch_size,
        ComplaintClock,
        lambda session, tenant_id, due, result: _check_batch(session, tenant_id, due, at, result),
        ComplaintSweepResult(),
    )


def _check_batch(
    session: Session, tenant_id: int, due: Sequence[ComplaintClock], now: dt.datetime, result: ComplaintSweepResult
) -> None:
    complaints = repository.complaints_by_ids(session, tenant_id, {c.complaint_id for c in due})
    books: dict[int, clocks.ClockSet] = {}
    for clock in due:
        complaint = complaints[clock.complaint_id]
        book = books.get(complaint.id)
        if book is None:
            book = books[complaint.id] = clocks.ClockSet(session, complaint)
        # The set read the rows again; work on its copy (the same identity-mapped object).
        if clock.policy_code == clocks.REVIEW_WINDOW:
            if clock.state == engine.RUNNING and clock.yellow_due_at is not None and now >= clock.yellow_due_at:
                complaints_service.lapse_review_window(session, complaint, book, clock, now)
                result.closed += 1
            else:
                clock.next_check_at = clock.yellow_due_at if clock.state == engine.RUNNING else None
            continue
        _check(session, complaint, book, clock, now, result)


def _check(
    session: Session,
    complaint: Complaint,
    book: clocks.ClockSet,
    clock: ComplaintClock,
    now: dt.datetime,
    result: ComplaintSweepResult,
) -> None:
    axis = book.axis(clock)
    engine.advance_light(axis, clock, now)
    owed = engine.LEVELS[clock.light]
    if clock.escalated < 1 <= owed:
        _warn(session, complaint, book, clock, engine.YELLOW, now)
        result.yellow += 1
    if clock.escalated < 2 <= owed:
        _warn(session, complaint, book, clock, engine.RED, now)
        result.red += 1
    clock.escalated = max(clock.escalated, owed)
    clock.updated_at = now
    next_check = engine.next_check(axis, clock)
    clock.next_check_at = next_check if next_check is None or next_check > now else now + _RETRY


def _warn(
    session: Session,
    complaint: Complaint,
    book: clocks.ClockSet,
    clock: ComplaintClock,
    level: str,
    now: dt.datetime,
) -> None:
    """Yellow: the supervisors (and, for a major complaint, the special team in quality management);
    red: quality management. One notice per (clock, level, recipient), an 'overdue' event, an audit entry."""
    policy = book.policies.get(clock.policy_code)
    name = policy.name_zh if policy is not None else clock.policy_code
    due_at = clock.yellow_due_at if level == engine.YELLOW else clock.red_due_at
    due = letters.due_date(due_at, complaints_service.zone_of(session, complaint)) or "—"
    major = bool(complaint.major_reasons)
    recipients: list[tuple[str, str]] = []
    if level == engine.YELLOW:
        recipients.append((Role.SUPERVISOR.value, "complaint_overdue"))
        if major:
            recipients.append((Role.QUALITY_MANAGER.value, "complaint_major_overdue"))
    else:
        recipients.append((Role.QUALITY_MANAGER.value, "complaint_overdue_red"))
    light = "黄灯（已超期）" if level == engine.YELLOW else "红灯（严重超期）"
    prefix = "【重大投诉】" if major else ""
    subject = f"{prefix}投诉 {complaint.number} {name} {light}"
    body = (
        f"{prefix}投诉 {complaint.number}（{category_label(complaint.category, 'zh')}）的「{name}」"
        f"期限 {due} 已过，请督办。"
    )
    sent = []
    for role, kind in recipients:
        key = f"complaint:{clock.id}:{level}:{role}"
        link = f"/complaints/{complaint.number}"
        org_unit_id = complaint.org_unit_id
        if notify_staff_notices.notify_staff(
            session, complaint.tenant_id, role, kind, subject, body, key, now, org_unit_id=org_unit_id, link=link
        ):
            sent.append(role)
    complaints_service.record_event(
        session,
        complaint,
        "overdue",
        now,
        SYSTEM_ACTOR,
        policy=clock.policy_code,
        cycle=clock.cycle,
        level=level,
        due_at=due_at,
        notified=sent,
    )
