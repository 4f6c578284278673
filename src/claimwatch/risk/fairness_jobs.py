"""The 降赔惜赔 pass (worker): once a month or quarter is complete (tenant's local time), compare its handlers and
org units with their peers, once per insurer and period. Each period in its own unit of work; a second worker
finds the run and skips it (the unique (tenant, period) key is the last guard). Re-running a period by hand
(page, API, CLI) is always possible: it replaces the period's figures row by row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem
from claimwatch.risk import fairness
from claimwatch.risk.fairness_models import FairnessRun
from claimwatch.subjects.periods import previous_period
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone

log = structlog.get_logger("claimwatch.risk.fairness")
ACTOR = "system:fairness"


@dataclass
class FairnessPass:
    ran: list[str] = field(default_factory=list)  # "PICC 2026-11"
    skipped: int = 0
    flagged: int = 0


def run_due(now: dt.datetime | None = None) -> FairnessPass:
    """Every insurer's previous month and previous quarter, where not computed yet."""
    now = now or utc_now()
    done = FairnessPass()
    with unit_of_work(TenantContext.system_reader()) as session:
        tenants = [(t.id, t.code) for t in tenancy_repository.all_tenants(session)]
    for tenant_id, code in tenants:
        for schedule in ("monthly", "quarterly"):
            try:
                with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                    period = previous_period(schedule, now, tenant_zone(session, tenant_id))
                    if session.execute(select(FairnessRun.id).where(FairnessRun.period == period)).first():
                        done.skipped += 1
                        continue
                    summary = fairness.run_period(session, tenant_id, period, ACTOR, now=now)
                    done.ran.append(f"{code} {period}")
                    done.flagged += len(summary.flagged)
            except IntegrityError:  # another worker ran it meanwhile
                done.skipped += 1
            except Problem as exc:
                log.warning("fairness period not computed", tenant=code, field=exc.field, problem=exc.message)
            except Exception:  # logged and retried next pass; its transaction rolled back
                log.exception("fairness period failed", tenant=code)
    return done
