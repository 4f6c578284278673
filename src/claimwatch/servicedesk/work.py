"""What service requests put in a handler's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the open requests
assigned to me, nearest deadline first, and the open ones nobody handles yet. The count and the items come from one
filter (:func:`page_queries.queue`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.servicedesk import service
from claimwatch.servicedesk.page_queries import queue, request_url
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate


def _page(
    session: Session,
    tenant_id: int,
    locale: str,
    now: dt.datetime,
    limit: int,
    offset: int,
    handler_id: int | None = None,
    unassigned: bool = False,
) -> Page:
    count, rows = queue(session, tenant_id, handler_id=handler_id, unassigned=unassigned, limit=limit + offset, now=now)
    if limit <= 0:
        return Page(count)
    items = [
        Item(
            title=f"{row['number']} · {row['subject']}",
            url=request_url(row["number"]),
            detail=translate(locale, service.STATUS_LABELS.get(row["status"], row["status"])),
            due_at=row["due_at"],
            light=row["light"],
            key=f"service-request-{row['number']}",
        )
        for row in rows[offset:]
    ]
    return Page(count, items)


def my_requests(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None or principal.user_id is None:
        return Page(0)
    return _page(session, principal.tenant_id, locale, now, limit, offset, handler_id=principal.user_id)


def unassigned(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    return _page(session, principal.tenant_id, locale, now, limit, offset, unassigned=True)


registry.register(
    Source(
        key="service-requests",
        label=N_("Service requests I handle"),
        permission=Permission.INBOX_SERVICE_REQUESTS,
        fetch=my_requests,
        order=32,
        empty=N_("No service request waits for you."),
        links=((N_("Service requests"), "/service-requests?mine=1"),),
    )
)
registry.register(
    Source(
        key="service-requests-unassigned",
        label=N_("Service requests nobody handles yet"),
        permission=Permission.INBOX_SERVICE_REQUESTS,
        fetch=unassigned,
        order=33,
        empty=N_("Every open service request has a handler."),
        links=((N_("Service requests"), "/service-requests?unassigned=1"),),
    )
)
