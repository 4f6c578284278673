"""What risk puts in a reviewer's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the high-risk claims
waiting for review (核查) that are assigned to me or to nobody, highest score first."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.risk import repository
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

STATUS_LABELS = {"open": N_("waiting"), "investigating": N_("under investigation")}


def waiting_for_review(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.tenant_id is None or principal.user_id is None:
        return Page(0)
    count = repository.count_waiting(session, principal.user_id)
    if limit <= 0 or count == 0:
        return Page(count)
    items = []
    for review, number in repository.waiting(session, principal.user_id, limit, offset):
        flags = ", ".join(r.get("code", "") for r in review.reasons if r.get("kind") == "flag")
        status = translate(locale, STATUS_LABELS.get(review.status, review.status))
        items.append(
            Item(
                title=f"{number} · {review.score:.2f} ({review.level})",
                url=f"/risk/review/{review.id}",
                detail=f"{status} · {flags}" if flags else status,
                due_at=None,
                light="red" if review.level == "high" else "yellow",
                key=f"risk-review-{review.id}",
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="risk-reviews",
        label=N_("High-risk claims waiting for review"),
        permission=Permission.INBOX_RISK_REVIEW,
        fetch=waiting_for_review,
        order=55,
        empty=N_("No high-risk claim is waiting for review."),
        links=((N_("Review queue"), "/risk/review"),),
    )
)
