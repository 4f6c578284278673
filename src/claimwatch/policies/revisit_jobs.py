"""The worker's revisit pass: in every insurer, schedule the revisits of long-term sales that have none (call
tasks), then mark revisits past their due day ``overdue``. One transaction per insurer; run hourly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.policies import revisits
from claimwatch.tenancy import repository as tenancy_repository

log = structlog.get_logger("claimwatch.policies.revisit_jobs")


@dataclass
class RevisitRun:
    scheduled: dict[str, int] = field(default_factory=dict)  # tenant code -> revisits created
    overdue: dict[str, int] = field(default_factory=dict)  # tenant code -> revisits marked overdue

    @property
    def items(self) -> int:
        return sum(self.scheduled.values()) + sum(self.overdue.values())


def _tenants(tenant_code: str | None) -> list[tuple[int, str]]:
    with unit_of_work(TenantContext.system_context()) as session:
        found = [(t.id, t.code) for t in tenancy_repository.all_tenants(session)]
    if tenant_code is not None:
        found = [(i, c) for i, c in found if c == tenant_code]
        if not found:
            raise LookupError(f"no tenant {tenant_code!r}")
    return found


def run(*, tenant_code: str | None = None, now: dt.datetime | None = None) -> RevisitRun:
    """Schedule missing revisits and mark overdue ones, in every insurer (or one)."""
    now = now or utc_now()
    result = RevisitRun()
    for tenant_id, code in _tenants(tenant_code):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            scheduled = revisits.schedule_missing(session, tenant_id, now)
            overdue = revisits.mark_overdue(session, tenant_id, now)
        if scheduled:
            result.scheduled[code] = scheduled
        if overdue:
            result.overdue[code] = overdue
    if result.items:
        log.info("revisits", scheduled=result.scheduled, overdue=result.overdue)
    return result
