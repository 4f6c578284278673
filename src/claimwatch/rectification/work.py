"""What rectification puts in the to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the rectifications
I own that are still being worked, nearest running deadline first (plan, then acceptance); and, for the
quality managers, those waiting for acceptance (验收), the longest waiting first. Each count and its items
come from one filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.rectification.models import Rectification, RectificationClock
from claimwatch.rectification.service import rectification_url
from claimwatch.rectification.vocabulary import ACTIVE, SEVERITY_LABELS, STATUS_LABELS, SUBMITTED, label
from claimwatch.sla import engine
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _page(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    locale: str,
    now: dt.datetime,
    limit: int,
    offset: int,
    by_submitted: bool = False,
) -> Page:
    count = session.execute(select(func.count()).select_from(Rectification).where(*where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    running = (RectificationClock.rectification_id == Rectification.id) & (RectificationClock.state == engine.RUNNING)
    due = func.min(RectificationClock.yellow_due_at)
    red = func.min(RectificationClock.red_due_at)
    statement = (
        select(
            Rectification.id,
            Rectification.number,
            Rectification.title,
            Rectification.status,
            Rectification.severity,
            due.label("due"),
            red.label("red"),
        )
        .select_from(Rectification)
        .outerjoin(RectificationClock, running)
        .where(*where)
        .group_by(
            Rectification.id, Rectification.number, Rectification.title, Rectification.status, Rectification.severity
        )
    )
    if by_submitted:
        statement = statement.order_by(func.min(Rectification.submitted_at), Rectification.id)
    else:
        statement = statement.order_by(due.is_(None), due, Rectification.id)
    items = []
    for rid, number, title, status, severity, yellow_due, red_due in session.execute(
        statement.limit(limit).offset(offset)
    ):
        yellow_at, red_at = _utc(yellow_due), _utc(red_due)
        light = None
        if yellow_at is not None:
            light = "red" if red_at is not None and red_at <= now else "yellow" if yellow_at <= now else "green"
        items.append(
            Item(
                title=f"{number} · {title}",
                url=rectification_url(rid),
                detail=f"{label(SEVERITY_LABELS, severity, locale)} · {label(STATUS_LABELS, status, locale)}",
                due_at=yellow_at,
                light=light,
                key=number,
            )
        )
    return Page(count, items)


def my_rectifications(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.user_id is None:
        return Page(0)
    where = [Rectification.owner_user_id == principal.user_id, Rectification.status.in_(ACTIVE)]
    return _page(session, where, locale, now, limit, offset)


def awaiting_acceptance(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    return _page(session, [Rectification.status == SUBMITTED], locale, now, limit, offset, by_submitted=True)


registry.register(
    Source(
        key="rectifications",
        label=N_("My rectifications"),
        permission=Permission.INBOX_RECTIFICATIONS,
        fetch=my_rectifications,
        order=40,
        empty=N_("No rectification of yours is open."),
        links=((N_("Rectifications"), "/rectifications"),),
    )
)
registry.register(
    Source(
        key="rectifications-acceptance",
        label=N_("Rectifications awaiting acceptance"),
        permission=Permission.ACCEPT_RECTIFICATIONS,
        fetch=awaiting_acceptance,
        order=41,
        empty=N_("No rectification is waiting for acceptance."),
        links=((N_("Rectifications"), "/rectifications?status=submitted_for_acceptance"),),
    )
)
