"""What complaints put in a complaint handler's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`):
the open complaints they handle, nearest decision deadline first, and the open complaints of their org
scope that nobody handles yet. The review window (the complainant's time, not ours) is no deadline here,
as in the queue. Each count and its items come from one filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.clocks import REVIEW_WINDOW
from claimwatch.complaints.models import Complaint, ComplaintClock
from claimwatch.complaints.queries import complaint_url
from claimwatch.complaints.vocabulary import CLOSED, STATUS_LABELS, category_label, label
from claimwatch.sla.service import org_scope
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _page(
    session: Session, where: Sequence[ColumnElement[bool]], locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    count = session.execute(select(func.count()).select_from(Complaint).where(*where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    running = (
        (ComplaintClock.complaint_id == Complaint.id)
        & (ComplaintClock.state != "stopped")
        & (ComplaintClock.policy_code != REVIEW_WINDOW)
    )
    due = func.min(ComplaintClock.yellow_due_at)
    rank = func.max(case((ComplaintClock.light == "red", 2), (ComplaintClock.light == "yellow", 1), else_=0))
    statement = (
        select(
            Complaint.id,
            Complaint.number,
            Complaint.subject,
            Complaint.status,
            Complaint.category,
            Complaint.received_at,
            due.label("due"),
            func.min(ComplaintClock.red_due_at),
            rank,
        )
        .select_from(Complaint)
        .outerjoin(ComplaintClock, running)
        .where(*where)
        .group_by(
            Complaint.id,
            Complaint.number,
            Complaint.subject,
            Complaint.status,
            Complaint.category,
            Complaint.received_at,
        )
        .order_by(due.is_(None), due, Complaint.received_at, Complaint.id)
        .limit(limit)
        .offset(offset)
    )
    items = []
    for _, number, subject, status, category, _received, yellow_due, red_due, stored in session.execute(statement):
        yellow_at, red_at = _utc(yellow_due), _utc(red_due)
        light = None
        if yellow_at is not None or red_at is not None:
            rank_now = stored or 0
            if red_at is not None and red_at <= now:
                rank_now = 2
            elif yellow_at is not None and yellow_at <= now:
                rank_now = max(rank_now, 1)
            light = ("green", "yellow", "red")[rank_now]
        items.append(
            Item(
                title=f"{number} · {subject}",
                url=complaint_url(number),
                detail=f"{category_label(category, locale)} · {label(STATUS_LABELS, status, locale)}",
                due_at=yellow_at,
                light=light,
                key=number,
            )
        )
    return Page(count, items)


def my_complaints(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.user_id is None:
        return Page(0)
    where = [Complaint.handler_id == principal.user_id, Complaint.status.not_in(CLOSED)]
    return _page(session, where, locale, now, limit, offset)


def unassigned(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    where: list[ColumnElement[bool]] = [Complaint.handler_id.is_(None), Complaint.status.not_in(CLOSED)]
    scope = org_scope(session, principal)
    if scope is not None:
        where.append(Complaint.org_unit_id.in_(sorted(scope)))
    return _page(session, where, locale, now, limit, offset)


registry.register(
    Source(
        key="complaints",
        label=N_("My complaints"),
        permission=Permission.INBOX_COMPLAINTS,
        fetch=my_complaints,
        order=10,
        empty=N_("No open complaint is assigned to you."),
        links=((N_("Complaints"), "/complaints"), (N_("New complaint"), "/complaints/new")),
    )
)
registry.register(
    Source(
        key="unassigned-complaints",
        label=N_("Complaints nobody handles yet"),
        permission=Permission.INBOX_COMPLAINTS,
        fetch=unassigned,
        order=20,
        empty=N_("Every open complaint has a handler."),
    )
)
