"""The survey pass: issue surveys for claims and complaints closed long enough ago, expire old ones.

Tenant by tenant, in transactions of at most ``BATCH`` surveys. Each transaction takes the tenant's
audit chain before it writes, and the unique (tenant, subject key) makes a second survey for the same
closure impossible, so several workers may run the pass at once: each closure gets exactly one
survey and one invitation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.surveys import service
from claimwatch.tenancy import repository as tenancy_repository

BATCH = 200


@dataclass
class IssueResult:
    claims: int = 0  # surveys issued for claims
    complaints: int = 0  # surveys issued for complaints
    unreachable: int = 0  # of those, with no reachable contact (counted, no message)
    others: int = 0  # surveys issued for the registered kinds (surveys.sources: service requests…)
    expired: int = 0
    by_tenant: dict[int, int] = field(default_factory=dict)

    @property
    def issued(self) -> int:
        return self.claims + self.complaints + self.others


def issue_due(now: dt.datetime | None = None, lookback_days: int = 30) -> IssueResult:
    """One pass over every tenant: each claim or complaint closed between ``lookback_days`` ago and
    ``survey_delay_hours`` ago without a survey gets one, its invitation queued in the outbox; surveys
    past their expiry without an answer become ``expired``."""
    now = now or utc_now()
    settings = get_settings()
    until = now - dt.timedelta(hours=settings.survey_delay_hours)
    since = now - dt.timedelta(days=lookback_days)
    result = IssueResult()
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_ids = [tenant.id for tenant in tenancy_repository.all_tenants(session)]
    for tenant_id in tenant_ids:
        context = TenantContext.for_tenant(tenant_id)
        if since < until:
            with unit_of_work(context) as session:
                due = service.due_subjects(session, since, until)
            for start in range(0, len(due), BATCH):
                with unit_of_work(context) as session:
                    counts = service.issue(session, tenant_id, due[start : start + BATCH], now)
                result.claims += counts.claims
                result.complaints += counts.complaints
                result.unreachable += counts.unreachable
                result.others += counts.others
                issued = counts.claims + counts.complaints + counts.others
                if issued:
                    result.by_tenant[tenant_id] = result.by_tenant.get(tenant_id, 0) + issued
        with unit_of_work(context) as session:
            result.expired += service.expire(session, now)
    return result
