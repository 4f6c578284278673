"""What licences put in the to-do inbox of the people who keep the staff register (INBOX_PEOPLE): licences in
force of active people ending within 30 days, soonest first (renew them before the person may no longer sell,
underwrite or adjust). The count and the items come from one query."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.people import repository, service
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

EXPIRES = N_("expires in {days} days")


def expiring_licences(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    day = service.today(session, principal.tenant_id, now)
    found = repository.licences_expiring(
        session, principal.tenant_id, day, day + dt.timedelta(days=service.EXPIRING_DAYS)
    )
    visible = service.visible_staff_ids(session, principal)
    if visible is not None:
        found = [(licence, staff) for licence, staff in found if staff.id in visible]
    items = [
        Item(
            title=f"{staff.name} · {service.label(service.LICENCE_KIND_LABELS, licence.kind, locale)} {licence.number}",
            url=service.staff_url(staff.code),
            detail=f"{staff.code} · {translate(locale, EXPIRES).format(days=(licence.expires_on - day).days)}",
            light="red" if (licence.expires_on - day).days <= 7 else "yellow",
            key=f"licence-{licence.id}",
        )
        for licence, staff in found[offset : offset + max(limit, 0)]
    ]
    return Page(len(found), items)


registry.register(
    Source(
        key="licences-expiring",
        label=N_("Licences expiring within 30 days"),
        permission=Permission.INBOX_PEOPLE,
        fetch=expiring_licences,
        order=60,
        empty=N_("No licence expires within 30 days."),
        links=((N_("Staff register"), "/people?licence=expiring"),),
    )
)
