"""The monthly sales pass: the cooling-off cancellation rate of each agent for the previous local month (and the
month before, since a policy signed late in a month is cancelled in the next), each tenant in its own
transaction. Idempotent: open flags are brought up to date, decided ones stay as decided, so the worker may run it
once a day (``PassSpec(heartbeat.SALES, (Job("sales cooling-off", sales_jobs.run_monthly, lambda r:
sum(r.values())),), "sweep", REPORTS_SECONDS)``)."""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.policies import sales
from claimwatch.tenancy.models import Tenant
from claimwatch.tenancy.service import tenant_zone

log = structlog.get_logger("claimwatch.policies.sales")
SYSTEM_ACTOR = "system:sales-rules"


def previous_months(today: dt.date, count: int = 2) -> list[str]:
    """The ``count`` months before ``today``'s, the latest first (``2026-11``)."""
    found = []
    first = today.replace(day=1)
    for _ in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        found.append(first.strftime("%Y-%m"))
    return found


def run_monthly(
    *, month: str | None = None, tenant_code: str | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Cooling-off flags per tenant (code → flags raised) for ``month`` or the previous two local months."""
    now = now or utc_now()
    with unit_of_work(TenantContext.system_context()) as session:
        statement = select(Tenant.id, Tenant.code)
        if tenant_code is not None:
            statement = statement.where(Tenant.code == tenant_code)
        tenants = list(session.execute(statement))
    raised: dict[str, int] = {}
    for tenant_id, code in tenants:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            today = now.astimezone(tenant_zone(session, tenant_id)).date()
            months = [month] if month else previous_months(today)
            raised[code] = sum(
                len(sales.evaluate_cooling_off(session, tenant_id, m, now=now, actor=SYSTEM_ACTOR)) for m in months
            )
    log.info("sales cooling-off", raised=raised)
    return raised
