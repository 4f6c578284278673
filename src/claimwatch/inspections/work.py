"""What inspections put in an inspector's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the sampled
cases given to me to score, nearest due date first, and the reviews (复核) given to me. Each count and its
items come from one filter (:mod:`claimwatch.inspections.result_queries`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.inspections import result_queries
from claimwatch.inspections.models import Inspection
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

STATUS = {"assigned": N_("To do"), "in_progress": N_("In progress")}


def _light(due: dt.datetime | None, now: dt.datetime) -> str | None:
    if due is None:
        return None
    if due < now:
        return "red"
    return "yellow" if due - now < dt.timedelta(days=2) else "green"


def _items(
    session: Session,
    principal: Principal,
    rows: list[Inspection],
    locale: str,
    now: dt.datetime,
    dues: list[dt.datetime | None],
) -> list[Item]:
    seen = result_queries.summaries(session, principal.tenant_id or 0, rows)
    items = []
    for row, due in zip(rows, dues, strict=True):
        summary = seen.get((row.subject_kind, row.subject_id))
        number = summary.number if summary else f"{row.subject_kind}:{row.subject_id}"
        title = f"{number} · {summary.title}" if summary and summary.title else number
        items.append(
            Item(
                title=title,
                url=result_queries.inspection_url(row.id),
                detail=translate(locale, STATUS.get(row.status, row.status)) if row.status in STATUS else "",
                due_at=due,
                light=_light(due, now),
                key=f"inspection-{row.id}",
            )
        )
    return items


def my_inspections(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.user_id is None:
        return Page(0)
    count = result_queries.my_count(session, principal.user_id)
    if limit <= 0 or count == 0:
        return Page(count)
    rows = result_queries.my_inspections(session, principal.user_id, limit, offset)
    return Page(count, _items(session, principal, rows, locale, now, [r.due_at for r in rows]))


def my_reviews(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.user_id is None:
        return Page(0)
    count = result_queries.review_count(session, principal.user_id)
    if limit <= 0 or count == 0:
        return Page(count)
    pairs = result_queries.my_reviews(session, principal.user_id, limit, offset)
    rows = [inspection for _, inspection in pairs]
    return Page(count, _items(session, principal, rows, locale, now, [review.due_at for review, _ in pairs]))


registry.register(
    Source(
        key="inspections",
        label=N_("My sampled cases"),
        permission=Permission.INBOX_INSPECTIONS,
        fetch=my_inspections,
        order=15,
        empty=N_("No sampled case waits for you."),
        links=((N_("My inspections"), "/inspections/my"), (N_("Findings"), "/inspections/findings")),
    )
)
registry.register(
    Source(
        key="inspection-reviews",
        label=N_("My reviews (复核)"),
        permission=Permission.INBOX_INSPECTIONS,
        fetch=my_reviews,
        order=16,
        empty=N_("No review waits for you."),
    )
)
