"""Daily volumes to forecast: service requests received (per tenant, and per team) and claims reported (per
tenant), counted in the tenant's local days and zero-filled (a day without any is a 0, not a gap).

Only the timestamps are read (streamed), and bucketed here: one rule for local days on both databases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.errors import Invalid
from claimwatch.servicedesk.models import ServiceRequest
from claimwatch.tenancy import service as tenancy_service

SERVICE_REQUESTS = "service_requests"
CLAIMS = "claims"
SERIES = (SERVICE_REQUESTS, CLAIMS)
MAX_HISTORY_DAYS = 2 * 364  # two years: enough for a yearly holiday to be seen twice
_STREAM = 5000


@dataclass(frozen=True)
class DailySeries:
    series: str
    team: str  # "" for the whole tenant
    first_day: dt.date
    counts: list[int]

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=len(self.counts) - 1)

    def days(self) -> list[dt.date]:
        return [self.first_day + dt.timedelta(days=i) for i in range(len(self.counts))]


def check_series(series: str, team: str) -> None:
    if series not in SERIES:
        raise Invalid("series", f"series is one of {', '.join(SERIES)}, not {series!r}")
    if series == CLAIMS and team:
        raise Invalid("team", "claims are forecast for the whole insurer, not per team")


def _column(tenant_id: int, series: str, team: str) -> tuple[Any, list[Any]]:
    """The timestamp counted and the conditions (the tenant explicit: the indexes lead with it)."""
    if series == SERVICE_REQUESTS:
        conditions: list[Any] = [ServiceRequest.tenant_id == tenant_id]
        if team:
            conditions.append(ServiceRequest.team == team)
        return ServiceRequest.received_at, conditions
    return Claim.reported_at, [Claim.tenant_id == tenant_id]


def _utc_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def first_day(session: Session, tenant_id: int, series: str, team: str = "") -> dt.date | None:
    """The local day of the series' first record (None: no record yet)."""
    check_series(series, team)
    column, conditions = _column(tenant_id, series, team)
    earliest = session.scalar(select(func.min(column)).where(*conditions))
    if earliest is None:
        return None
    return earliest.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()


def daily_counts(
    session: Session, tenant_id: int, series: str, team: str, first: dt.date, last: dt.date
) -> DailySeries:
    """The counts of each local day from ``first`` to ``last`` (both included), zeros where nothing came."""
    check_series(series, team)
    if last < first:
        raise Invalid("to", "the last day is before the first")
    zone = tenancy_service.tenant_zone(session, tenant_id)
    column, conditions = _column(tenant_id, series, team)
    start, stop = _utc_start(first, zone), _utc_start(last + dt.timedelta(days=1), zone)
    counts = [0] * ((last - first).days + 1)
    query = select(column).where(column >= start, column < stop, *conditions)
    for (at,) in session.execute(query.execution_options(yield_per=_STREAM)):
        counts[(at.astimezone(zone).date() - first).days] += 1
    return DailySeries(series, team, first, counts)


def history(session: Session, tenant_id: int, series: str, team: str, until: dt.date) -> DailySeries | None:
    """The series from its first record (at most :data:`MAX_HISTORY_DAYS` back) to ``until``; None when empty."""
    start = first_day(session, tenant_id, series, team)
    if start is None or start > until:
        return None
    start = max(start, until - dt.timedelta(days=MAX_HISTORY_DAYS - 1))
    return daily_counts(session, tenant_id, series, team, start, until)


def teams(session: Session) -> list[str]:
    """The teams that have service requests (the tenant's, by the session's scope)."""
    rows = session.scalars(
        select(ServiceRequest.team).where(ServiceRequest.team.is_not(None)).distinct().order_by(ServiceRequest.team)
    )
    return [team for team in rows if team]
