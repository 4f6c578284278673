"""What the rating puts in the regulator's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the insurers'
open objections (复核) to their published results, the nearest decide-by date first, overdue ones red."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.supervision.models import RatingObjection, RatingResult, RatingRun
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

WARN_DAYS = 5  # yellow this many days before the decide-by date


def _light(decide_by: dt.date, today: dt.date) -> str:
    if decide_by < today:
        return "red"
    return "yellow" if decide_by <= today + dt.timedelta(days=WARN_DAYS) else "green"


def open_objections(
    session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int
) -> Page:
    count = session.execute(
        select(func.count()).select_from(RatingObjection).where(RatingObjection.status == "open")
    ).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    zone = tenancy_service.platform_zone()
    today = now.astimezone(zone).date()
    codes = {tid: code for tid, code, _ in tenancy_repository.tenant_codes_and_names(session)}
    rows = session.execute(
        select(RatingObjection, RatingRun.period, RatingResult.region_code)
        .join(RatingResult, RatingResult.id == RatingObjection.result_id)
        .join(RatingRun, RatingRun.id == RatingResult.run_id)
        .where(RatingObjection.status == "open")
        .order_by(RatingObjection.decide_by, RatingObjection.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = []
    for objection, period, region in rows:
        code = codes.get(objection.tenant_id, "")
        unit = f"{code}/{region}" if region else code
        items.append(
            Item(
                title=f"{unit} · {period}",
                url=f"/ratings/objections#objection-{objection.id}",
                detail=translate(locale, N_("Objection to the rating: %(reason)s")) % {"reason": objection.reason[:80]},
                due_at=dt.datetime.combine(objection.decide_by, dt.time(23, 59), zone).astimezone(dt.UTC),
                light=_light(objection.decide_by, today),
                key=f"objection-{objection.id}",
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="rating-objections",
        label=N_("Rating objections to decide"),
        permission=Permission.MANAGE_RATINGS,
        fetch=open_objections,
        order=30,
        empty=N_("No objection to a rating waits for a decision."),
        links=((N_("Rating objections"), "/ratings/objections"), (N_("Service rating"), "/ratings")),
    )
)
