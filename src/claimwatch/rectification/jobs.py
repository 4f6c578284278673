"""The rectification sweep (worker pass ``rectification_jobs.sweep()``): turn lights as the plan and
acceptance deadlines pass, warn once per level, and remind the owner every week while a step stays overdue.

Yellow (the deadline passed): the owner is told. Red (the escalation threshold): the owner, the supervisors
of the owner unit and the quality managers. Then a reminder to the owner every :data:`REMINDER_EVERY` while
the clock runs overdue. Like the complaint sweep it reads only clocks whose ``next_check_at`` has come, tenant
by tenant, each batch in its own transaction that takes the tenant's audit chain first and then the clock
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). A level fires once per clock (``escalated`` only grows under
the row lock) and every notice carries a dedupe key, so two sweeps racing cannot send one twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.db import utc_now
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.rectification import repository, service
from claimwatch.rectification.clocks import ClockSet
from claimwatch.rectification.models import Rectification, RectificationClock
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs
from claimwatch.tenancy import service as tenancy_service

SYSTEM_ACTOR = "system:rectification"
BATCH_SIZE = 500
REMINDER_EVERY = dt.timedelta(days=7)
_RETRY = dt.timedelta(hours=1)
NOTICE_OVERDUE = "rectification_overdue"
NOTICE_OVERDUE_RED = "rectification_overdue_red"
NOTICE_REMINDER = "rectification_reminder"


@dataclass
class RectificationSweepResult(sla_jobs.SweepResult):
    reminders: int = 0


def sweep(now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> RectificationSweepResult:
    """One pass over every tenant's due rectification clocks; each batch commits on its own."""
    at = now or utc_now()
    return sla_jobs.sweep_clock_table(
        at,
        batch_size,
        RectificationClock,
        lambda session, tenant_id, due, result: _check_batch(session, tenant_id, due, at, result),
        RectificationSweepResult(),
    )


def _check_batch(
    session: Session,
    tenant_id: int,
    due: Sequence[RectificationClock],
    now: dt.datetime,
    result: RectificationSweepResult,
) -> None:
    rectifications = repository.by_ids(session, tenant_id, {c.rectification_id for c in due})
    books: dict[int, ClockSet] = {}
    for clock in due:
        rectification = rectifications[clock.rectification_id]
        book = books.get(rectification.id)
        if book is None:
            book = books[rectification.id] = ClockSet(session, rectification)
        _check(session, rectification, book, clock, now, result)


def _check(
    session: Session,
    rectification: Rectification,
    book: ClockSet,
    clock: RectificationClock,
    now: dt.datetime,
    result: RectificationSweepResult,
) -> None:
    axis = book.axis(clock)
    if clock.state != engine.RUNNING:
        # The step was done (late or not) before the sweep looked: nothing to warn about any more.
        clock.escalated = max(clock.escalated, engine.LEVELS[clock.light])
        clock.next_check_at = None
        return
    engine.advance_light(axis, clock, now)
    owed = engine.LEVELS[clock.light]
    if clock.escalated < 1 <= owed:
        _warn(session, rectification, book, clock, engine.YELLOW, now)
        result.yellow += 1
    if clock.escalated < 2 <= owed:
        _warn(session, rectification, book, clock, engine.RED, now)
        result.red += 1
    if (
        owed >= 1
        and clock.escalated >= 1
        and clock.reminded_at is not None
        and now >= clock.reminded_at + REMINDER_EVERY
    ):
        _remind(session, rectification, book, clock, now)
        result.reminders += 1
    if owed >= 1 and clock.reminded_at is None:
        clock.reminded_at = now  # the warning itself is the first reminder
    clock.escalated = max(clock.escalated, owed)
    clock.updated_at = now
    candidates = [engine.next_check(axis, clock)]
    if owed >= 1 and clock.reminded_at is not None:
        candidates.append(clock.reminded_at + REMINDER_EVERY)
    upcoming = min((c for c in candidates if c is not None), default=None)
    clock.next_check_at = upcoming if upcoming is None or upcoming > now else now + _RETRY


def _names(book: ClockSet, clock: RectificationClock) -> str:
    policy = book.policies.get(clock.policy_code)
    return policy.name_zh if policy is not None else clock.policy_code


def _due(session: Session, rectification: Rectification, due_at: dt.datetime | None) -> str:
    zone = tenancy_service.tenant_zone(session, rectification.tenant_id)
    if due_at is None:
        return "—"
    return (due_at.astimezone(zone) - dt.timedelta(seconds=1)).strftime("%Y-%m-%d")


def _warn(
    session: Session,
    rectification: Rectification,
    book: ClockSet,
    clock: RectificationClock,
    level: str,
    now: dt.datetime,
) -> None:
    name = _names(book, clock)
    due = _due(session, rectification, clock.yellow_due_at)
    light = "黄灯（已超期）" if level == engine.YELLOW else "红灯（严重超期）"
    subject = f"整改 {rectification.number} {name} {light}"
    body = f"整改「{rectification.title}」的「{name}」期限 {due} 已过，请尽快办理。"
    link = service.rectification_url(rectification.id)
    key = f"rectification:{clock.id}:{level}"
    kind = NOTICE_OVERDUE if level == engine.YELLOW else NOTICE_OVERDUE_RED
    sent: list[str] = []
    if notify_staff_notices.notify_user(
        session,
        rectification.tenant_id,
        rectification.owner_user_id,
        kind,
        subject,
        body,
        f"{key}:owner",
        now,
        link=service.rectification_url(rectification.id),
    ):
        sent.append("owner")
    if level == engine.RED or rectification.owner_user_id is None:
        # Red, or nobody owns it personally: the owner unit's supervisors; at red the quality managers too.
        roles = [Role.SUPERVISOR.value] + ([Role.QUALITY_MANAGER.value] if level == engine.RED else [])
        for role in roles:
            if notify_staff_notices.notify_staff(
                session,
                rectification.tenant_id,
                role,
                kind,
                subject,
                f"{body}请督办。",
                f"{key}:{role}",
                now,
                org_unit_id=rectification.owner_org_unit_id,
                link=link,
            ):
                sent.append(role)
    service.record_event(
        session,
        rectification,
        "overdue",
        now,
        SYSTEM_ACTOR,
        policy=clock.policy_code,
        level=level,
        due_at=clock.yellow_due_at,
        notified=sent,
    )


def _remind(
    session: Session, rectification: Rectification, book: ClockSet, clock: RectificationClock, now: dt.datetime
) -> None:
    clock.reminders += 1
    clock.reminded_at = now
    name = _names(book, clock)
    due = _due(session, rectification, clock.yellow_due_at)
    days = max(1, (now - clock.yellow_due_at).days) if clock.yellow_due_at else 0
    sent = notify_staff_notices.notify_user(
        session,
        rectification.tenant_id,
        rectification.owner_user_id,
        NOTICE_REMINDER,
        f"整改 {rectification.number} {name} 已超期 {days} 天",
        f"整改「{rectification.title}」的「{name}」期限 {due} 已过 {days} 天，请尽快办理。",
        f"rectification:{clock.id}:reminder:{clock.reminders}",
        now,
        link=service.rectification_url(rectification.id),
    )
    service.record_event(
        session,
        rectification,
        "reminder",
        now,
        SYSTEM_ACTOR,
        policy=clock.policy_code,
        reminder=clock.reminders,
        days_overdue=days,
        notified=["owner"] if sent else [],
    )
