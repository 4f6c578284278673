"""What underwriting puts in an underwriter's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the cases in
manual review assigned to me, nearest turnaround deadline first, and those nobody has taken yet. The count and the
items come from one filter (:func:`underwriting_queries.queue`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.policies import underwriting
from claimwatch.policies.underwriting_queries import case_url, queue
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate


def _page(
    session: Session,
    locale: str,
    now: dt.datetime,
    limit: int,
    offset: int,
    reviewer_id: int | None = None,
    unassigned: bool = False,
) -> Page:
    count, rows = queue(
        session, status="in_review", reviewer_id=reviewer_id, unassigned=unassigned, limit=limit + offset, now=now
    )
    if limit <= 0:
        return Page(count)
    items = [
        Item(
            title=f"{row['application_number']} · {row['product_code']}",
            url=case_url(row["application_number"]),
            detail=translate(locale, underwriting.LEVEL_LABELS.get(row["risk_level"] or "", N_("Not assessed"))),
            due_at=row["due_at"],
            light=row["light"],
            key=f"underwriting-{row['application_number']}",
        )
        for row in rows[offset:]
    ]
    return Page(count, items)


def my_cases(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None or principal.user_id is None:
        return Page(0)
    return _page(session, locale, now, limit, offset, reviewer_id=principal.user_id)


def unassigned(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    return _page(session, locale, now, limit, offset, unassigned=True)


registry.register(
    Source(
        key="underwriting",
        label=N_("Applications in my review"),
        permission=Permission.INBOX_UNDERWRITING,
        fetch=my_cases,
        order=30,
        empty=N_("No application waits for your review."),
        links=((N_("Underwriting"), "/underwriting"),),
    )
)
registry.register(
    Source(
        key="underwriting-unassigned",
        label=N_("Applications nobody reviews yet"),
        permission=Permission.INBOX_UNDERWRITING,
        fetch=unassigned,
        order=31,
        empty=N_("Every application in review has an underwriter."),
        links=((N_("Underwriting"), "/underwriting?unassigned=1"),),
    )
)
