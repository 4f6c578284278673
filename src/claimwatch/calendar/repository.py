from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from claimwatch.calendar.models import BusinessHours, CalendarDay, CalendarYear
from claimwatch.calendar.workdays import YearArrangement

_YEARS = cast(Table, CalendarYear.__table__)
# Built once: every clock change asks (through the calendar cache's check); building and running an ORM select
# each time cost several times the query.
_YEARS_STAMP = select(func.count(), func.max(_YEARS.c.loaded_at)).select_from(_YEARS)


def years_stamp(session: Session) -> tuple[object, ...]:
    if session.autoflush:  # as the ORM select did: a year loaded earlier in this transaction counts
        session.flush()
    count, latest = session.connection().execute(_YEARS_STAMP).one()
    return (count, latest)


def year_rows(session: Session) -> list[CalendarYear]:
    return list(session.execute(select(CalendarYear).order_by(CalendarYear.year)).scalars())


def loaded_years(session: Session) -> list[YearArrangement]:
    years = {row.year: YearArrangement(row.year, {}, {}) for row in year_rows(session)}
    for day in session.execute(select(CalendarDay)).scalars():
        arrangement = years.get(day.year)
        if arrangement is not None:
            (arrangement.workdays if day.working else arrangement.holidays)[day.day] = day.name
    return list(years.values())


def replace_year(
    session: Session, arrangement: YearArrangement, source: str, sha256: str, actor: str, now: dt.datetime
) -> None:
    session.execute(delete(CalendarDay).where(CalendarDay.year == arrangement.year))
    session.execute(delete(CalendarYear).where(CalendarYear.year == arrangement.year))
    session.add(
        CalendarYear(
            year=arrangement.year,
            source=source[:200],
            sha256=sha256,
            day_count=len(arrangement.holidays) + len(arrangement.workdays),
            loaded_by=actor,
            loaded_at=now,
        )
    )
    session.add_all(
        [CalendarDay(day=d, year=arrangement.year, working=False, name=n) for d, n in arrangement.holidays.items()]
        + [CalendarDay(day=d, year=arrangement.year, working=True, name=n) for d, n in arrangement.workdays.items()]
    )
    session.flush()


def business_hours(session: Session, tenant_id: int) -> BusinessHours | None:
    return session.execute(select(BusinessHours).where(BusinessHours.tenant_id == tenant_id)).scalar_one_or_none()


def save_business_hours(session: Session, tenant_id: int, intervals: str, actor: str, now: dt.datetime) -> None:
    row = business_hours(session, tenant_id)
    if row is None:
        row = BusinessHours(tenant_id=tenant_id, intervals=intervals, updated_by=actor, updated_at=now)
        session.add(row)
    else:
        row.intervals = intervals
        row.updated_by = actor
        row.updated_at = now
    session.flush()
