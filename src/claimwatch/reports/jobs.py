"""The scheduled reports (worker pass ``reports_jobs.run_scheduled()``): from the :data:`BUILD_DAY`-th day of a
month (local, tenant zone), last month's quality report for every insurer; after a quarter ends, the quarter's
too; and the regulator's cross-insurer edition of both. Once per (tenant, period): a series that has any
version (built, failed, or built by hand) is left alone, so a failing section does not rebuild every pass
(``claimwatch reports build`` rebuilds it). A period waits until the KPI snapshot was taken after it ended.

Each report renders in a read-only transaction and is stored in a short write one, so SQLite writers do not
wait for the PDF.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import Period
from claimwatch.reports import periods, repository, service
from claimwatch.reports.models import series_key
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service

log = structlog.get_logger("claimwatch.reports.jobs")
SYSTEM_ACTOR = "system:reports"
BUILD_DAY = 3  # the committee meets early in the month; the snapshot has settled the month's late events by then


@dataclass
class ScheduledResult:
    built: list[tuple[int | None, str]] = field(default_factory=list)  # (tenant id or None, period)
    failed: list[tuple[int | None, str]] = field(default_factory=list)
    waiting: int = 0  # due, but the snapshot predates the period's end


def due_periods(today: dt.date, build_day: int = BUILD_DAY) -> list[Period]:
    """The periods whose report is due on ``today``: last month (and last quarter, when it ended with it)."""
    if today.day < build_day:
        return []
    month = periods.last_finished(today, "month")
    due = [month]
    quarter = periods.last_finished(today, "quarter")
    if quarter.end == month.end:
        due.append(quarter)
    return due


def run_scheduled(now: dt.datetime | None = None, *, build_day: int = BUILD_DAY, locale: str = "zh") -> ScheduledResult:
    at = now or utc_now()
    result = ScheduledResult()
    with unit_of_work(TenantContext.system_reader()) as session:
        tenants = [(t.id, tenancy_service.zone_named(t.timezone)) for t in tenancy_repository.all_tenants(session)]
        taken = kpi_snapshot.current()
    if taken is None or not tenants:
        return result
    owners: list[tuple[int | None, dt.date]] = [(tid, at.astimezone(zone).date()) for tid, zone in tenants]
    owners.append((None, at.astimezone(tenancy_service.platform_zone()).date()))
    snapshot_day = taken.taken_at.astimezone(kpi_snapshot.snapshot_zone()).date()
    for tenant_id, today in owners:
        for period in due_periods(today, build_day):
            series = series_key(tenant_id, "quality", period.label, None)
            with unit_of_work(TenantContext.system_reader()) as session:
                if repository.latest_version(session, series):
                    continue
            if snapshot_day < period.end:
                result.waiting += 1
                continue
            _build(tenant_id, period, at, locale, result)
    return result


def _build(tenant_id: int | None, period: Period, at: dt.datetime, locale: str, result: ScheduledResult) -> None:
    reading = TenantContext.system_reader() if tenant_id is None else TenantContext.regulator_of(tenant_id)
    writing = TenantContext.system_context() if tenant_id is None else TenantContext.for_tenant(tenant_id)
    try:
        with unit_of_work(reading) as session:
            composed = service.compose(
                session, SYSTEM_ACTOR, tenant_id=tenant_id, kind="quality", period=period, locale=locale, at=at
            )
        with unit_of_work(writing) as session:
            report = service.store(session, composed)
            status = report.status
    except Problem as exc:  # e.g. the snapshot was replaced meanwhile: the next pass tries again
        log.warning("scheduled report not built", tenant_id=tenant_id, period=period.label, reason=str(exc))
        return
    (result.built if status == "built" else result.failed).append((tenant_id, period.label))
