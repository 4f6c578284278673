"""What the knowledge base puts in a reviewer's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the
submitted article versions waiting for approval, oldest submission first — leaving out the reviewer's own, which
someone else approves. The count and the items come from one filter (:mod:`claimwatch.kb.page_queries`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.kb import page_queries
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate


def waiting_reviews(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    count = page_queries.waiting_count(session, principal.actor)
    if limit <= 0 or count == 0:
        return Page(count)
    rows = page_queries.review_rows(session, principal.actor, limit=limit, offset=offset)
    items = [
        Item(
            title=f"{row['code']} · {row['question']}",
            url=f"/kb/review#version-{row['id']}",
            detail=translate(locale, N_("New article") if row["published_version"] is None else N_("Changed answer"))
            + f" · v{row['version']} · {row['author']}",
            key=f"kb-version-{row['id']}",
        )
        for row in rows
    ]
    return Page(count, items)


registry.register(
    Source(
        key="kb-review",
        label=N_("Knowledge-base articles waiting for review"),
        permission=Permission.APPROVE_KB,
        fetch=waiting_reviews,
        order=75,
        empty=N_("No article version waits for review."),
        links=((N_("Knowledge base"), "/kb"), (N_("Review"), "/kb/review")),
    )
)
