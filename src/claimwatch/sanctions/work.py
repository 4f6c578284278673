"""What sanctions put in a quality manager's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the
proposed sanctions waiting for approval, oldest first. The count and the items come from one filter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.sanctions import repository, service
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate


def waiting_for_approval(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    count = repository.count_sanctions(session, "proposed")
    if limit <= 0 or count == 0:
        return Page(count)
    items = []
    for sanction, violation in repository.proposed_oldest_first(session, limit, offset):
        kind = translate(locale, service.KIND_LABELS.get(sanction.kind, sanction.kind))
        if sanction.amount_fen is not None:
            kind += f" {sanction.amount_fen / 100:.2f}"
        elif sanction.days is not None:
            kind += f" {sanction.days}"
        items.append(
            Item(
                title=f"{sanction.number} · {violation.party} · {violation.code}",
                url=service.sanction_url(sanction.number),
                detail=f"{kind} · {violation.source_label}",
                due_at=None,
                light="yellow" if violation.escalated else None,
                key=sanction.number,
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="sanctions",
        label=N_("Sanctions waiting for approval"),
        permission=Permission.INBOX_SANCTIONS,
        fetch=waiting_for_approval,
        order=60,
        empty=N_("No sanction is waiting for approval."),
        links=(
            (N_("Sanctions"), "/sanctions"),
            (N_("Violations by person"), "/sanctions/people"),
            (N_("Blacklist"), "/sanctions/blacklist"),
        ),
    )
)
