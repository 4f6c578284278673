"""What training puts in the to-do inbox of the people who keep the staff register (INBOX_PEOPLE): mandatory
courses past their due date (the rules file's and the sanctions' mandatory trainings), the longest overdue
first, of the people the reader may see."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.people import service as people_service
from claimwatch.people import training
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

OVERDUE_SINCE = N_("overdue since {day}")


def overdue_training(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    day = training.today(session, principal.tenant_id, now)
    visible = people_service.visible_staff_ids(session, principal)
    found = [
        (person, requirement)
        for person in training.requirements(session, principal.tenant_id, day, visible)
        for requirement in person.requirements
        if requirement.state == "overdue"
    ]
    found.sort(key=lambda pair: (pair[1].due_on, pair[0].code))
    items = [
        Item(
            title=f"{person.name} · {requirement.title}",
            url=f"/people/{person.code}",
            detail=f"{person.code} · {translate(locale, OVERDUE_SINCE).format(day=requirement.due_on.isoformat())}",
            light="red",
            key=f"training-{person.staff_id}-{requirement.source}-{requirement.course}"[:120],
        )
        for person, requirement in found[offset : offset + max(limit, 0)]
    ]
    return Page(len(found), items)


registry.register(
    Source(
        key="training-overdue",
        label=N_("Mandatory training overdue"),
        permission=Permission.INBOX_PEOPLE,
        fetch=overdue_training,
        order=61,
        empty=N_("Nobody is overdue with a mandatory course."),
        links=((N_("Training coverage"), "/people/training"),),
    )
)
