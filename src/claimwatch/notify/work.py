"""What the outbox puts in an admin's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): claimant
messages that exhausted their retries (dead letters), newest first, each opening the claim or complaint
whose page lists its messages. ``claimwatch notify resend --failed`` sends them again."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.models import Claim
from claimwatch.notify.models import MessageStatus, OutboxMessage
from claimwatch.privacy import scrub_text
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_

MAX_ERROR = 120


def dead_letters(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    where = [OutboxMessage.status == MessageStatus.DEAD]
    count = session.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    rows = session.execute(
        select(OutboxMessage, Claim.number)
        .outerjoin(Claim, Claim.id == OutboxMessage.claim_id)
        .where(*where)
        .order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = []
    for message, claim_number in rows:
        reference = claim_number or message.reference or ""
        if claim_number is None and message.complaint_id is not None and reference:
            url = f"/complaints/{quote(reference, safe='')}"
        elif reference:
            url = f"/claims/{quote(reference, safe='')}"
        else:
            url = "/my/dead-letters"
        error = scrub_text(message.last_error or "")[:MAX_ERROR]
        items.append(
            Item(
                title=f"{reference or message.id} · {message.channel}",
                url=url,
                detail=f"{message.template} · {error}" if error else message.template,
                due_at=message.updated_at,
                light="red",
                key=str(message.id),
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="dead-letters",
        label=N_("Undelivered claimant messages"),
        permission=Permission.INBOX_DEAD_LETTERS,
        fetch=dead_letters,
        order=10,
        empty=N_("Every claimant message was delivered or is still being tried."),
    )
)
