"""What the witness puts in the regulator's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): every
insurer whose newest tree head failed the witness's check (history rewritten, or a bad signature), until a
later head is consistent again with the last one the witness accepted."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.evidence import page_queries
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_

MAX_PROBLEM = 160


def alarms(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    rows = page_queries.alarms(session, locale)
    if limit <= 0:
        return Page(len(rows))
    items = [
        Item(
            title=f"{row['code']} · {row['name']}",
            url=f"/evidence?{urlencode({'tenant': row['code']})}",
            detail=" · ".join(part for part in (row["label"], (row["problem"] or "")[:MAX_PROBLEM]) if part),
            light="red",
            key=row["code"],
        )
        for row in rows[offset : offset + limit]
    ]
    return Page(len(rows), items)


registry.register(
    Source(
        key="evidence-alarms",
        label=N_("Evidence alarms"),
        permission=Permission.WITNESS_EVIDENCE,
        fetch=alarms,
        order=15,
        empty=N_("Every insurer's newest tree head agrees with the witness."),
        links=((N_("Evidence records"), "/evidence"),),
    )
)
