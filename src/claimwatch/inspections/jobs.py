"""The periodic-plan pass (worker): every active monthly or quarterly plan draws once per period, from the
previous complete month or quarter in the tenant's local time.

Idempotent and safe with several workers on PostgreSQL: each plan is drawn in its own unit of work that
takes the tenant's audit-chain head first (``service.draw_sample``), so a second worker waits there, then
finds the (plan, period) draw and skips it; the unique key (tenant, plan, period) is the last guard. A plan
whose population is empty that period is skipped and tried again on the next pass (its draw is not recorded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from sqlalchemy.exc import IntegrityError

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Conflict, Problem
from claimwatch.inspections import repository, service
from claimwatch.subjects.periods import previous_period
from claimwatch.tenancy.service import tenant_zone

log = structlog.get_logger("claimwatch.inspections")


@dataclass
class PeriodicResult:
    drawn: int = 0
    skipped: int = 0  # already drawn for the period
    empty: int = 0  # nothing to draw (or refused): tried again next pass
    draws: list[int] = field(default_factory=list)


def run_periodic(now: dt.datetime | None = None) -> PeriodicResult:
    """One pass over every tenant's periodic plans."""
    now = now or utc_now()
    result = PeriodicResult()
    with unit_of_work(TenantContext.system_reader()) as session:
        plans = repository.periodic_plans(session)
    for tenant_id, plan_id, schedule in plans:
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                period = previous_period(schedule, now, tenant_zone(session, tenant_id))
                if repository.draw_for_period(session, plan_id, period) is not None:
                    result.skipped += 1
                    continue
                drawn = service.draw_sample(session, service.SYSTEM_ACTOR, plan_id, period=period, now=now)
                result.drawn += 1
                result.draws.append(drawn.id)
        except (Conflict, IntegrityError):  # another worker drew it meanwhile
            result.skipped += 1
        except Problem as exc:
            result.empty += 1
            log.info("periodic plan not drawn", plan_id=plan_id, field=exc.field, reason=exc.message)
        except Exception:  # a failed plan is logged and retried next pass; its transaction rolled back
            log.exception("periodic plan draw failed", plan_id=plan_id)
    return result
