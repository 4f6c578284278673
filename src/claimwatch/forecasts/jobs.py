"""The weekly forecast run (worker job ``forecasts.jobs.run``, in the hourly reports pass): each insurer without a
forecast made since its local Monday gets every series forecast (``service.run_all``), each insurer in its own
unit of work. A series too short is noted and skipped; the page says why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.forecasts import service
from claimwatch.forecasts.models import VolumeForecast
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service

ACTOR = "system:forecasts"
log = structlog.get_logger("claimwatch.forecasts")


@dataclass
class WeeklyRun:
    made: int = 0
    tenants: list[str] = field(default_factory=list)
    refused: dict[str, dict[str, str]] = field(default_factory=dict)  # tenant code -> series -> why


def week_start(session: Session, tenant_id: int, now: dt.datetime) -> dt.datetime:
    """The tenant's local Monday 00:00 of ``now``'s week, in UTC."""
    zone = tenancy_service.tenant_zone(session, tenant_id)
    local = now.astimezone(zone).date()
    monday = local - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(), zone).astimezone(dt.UTC)


def run(now: dt.datetime | None = None) -> WeeklyRun:
    at = now or utc_now()
    result = WeeklyRun()
    with unit_of_work(TenantContext.system_context()) as session:
        tenants = [(t.id, t.code) for t in tenancy_repository.all_tenants(session)]
    for tenant_id, code in tenants:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            since = week_start(session, tenant_id, at)
            done = session.scalars(
                select(VolumeForecast.id)
                .where(VolumeForecast.tenant_id == tenant_id, VolumeForecast.made_at >= since)
                .limit(1)
            ).first()
            if done is not None:
                continue
            outcome = service.run_all(session, tenant_id, ACTOR, at)
        if outcome.made:
            result.tenants.append(code)
            result.made += len(outcome.made)
        if outcome.refused:
            result.refused[code] = outcome.refused
    if result.made:
        log.info("volume forecasts made", tenants=result.tenants, forecasts=result.made)
    return result
