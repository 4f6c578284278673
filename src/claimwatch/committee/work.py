"""What the quality committee puts in a quality manager's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`):
the undecided items of the newest meeting whose minutes are still open."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.committee import service
from claimwatch.committee.models import CommitteeMeeting
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate


def undecided_items(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    meeting = session.execute(
        select(CommitteeMeeting)
        .where(CommitteeMeeting.status != "closed")
        .order_by(CommitteeMeeting.month.desc())
        .limit(1)
    ).scalar_one_or_none()
    if meeting is None:
        return Page(0)
    waiting = service.undecided(session, meeting)
    items = [
        Item(
            title=item.label,
            url=f"{service.meeting_url(meeting.month)}#item-{item.id}",
            detail=f"{meeting.month} · {translate(locale, service.KIND_LABELS.get(item.kind, item.kind))}",
            key=str(item.id),
        )
        for item in waiting[offset : offset + max(limit, 0)]
    ]
    return Page(len(waiting), items)


registry.register(
    Source(
        key="committee",
        label=N_("Quality committee: items to decide"),
        permission=Permission.MANAGE_COMMITTEE,
        fetch=undecided_items,
        order=25,
        empty=N_("Every item of the open meeting is decided."),
        links=((N_("Quality committee"), "/committee"),),
    )
)
