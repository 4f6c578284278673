"""Worker passes: apply the pending (active-mode) claim assignments as case events, and take the load
snapshot (load per handler and the unassigned queue over time). Each tenant in its own unit of work."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog

from claimwatch.assignment import repository, service
from claimwatch.db import TenantContext, unit_of_work, utc_now

log = structlog.get_logger("claimwatch.assignment")
# The worker takes a snapshot at most this often (peaks show at this resolution).
SNAPSHOT_EVERY = dt.timedelta(minutes=15)


@dataclass
class PassResult:
    applied: int = 0
    snapshots: int = 0


def apply_pending() -> int:
    """Apply every tenant's pending decisions; a tenant whose pass fails is logged and retried next time."""
    with unit_of_work(TenantContext.system_reader()) as session:
        tenant_ids = repository.tenants_with_pending(session)
    applied = 0
    for tenant_id in tenant_ids:
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                applied += service.apply_pending(session, tenant_id)
        except Exception:  # the tenant's decisions stay pending; its transaction rolled back
            log.exception("assignment apply failed", tenant_id=tenant_id)
    return applied


def snapshot(now: dt.datetime | None = None) -> int:
    """Load snapshot of every tenant that has handler profiles."""
    now = now or utc_now()
    with unit_of_work(TenantContext.system_reader()) as session:
        tenant_ids = repository.tenants_with_profiles(session)
    rows = 0
    for tenant_id in tenant_ids:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            rows += service.take_snapshot(session, tenant_id, now)
    return rows


def run_pass(now: dt.datetime | None = None, take_snapshot: bool = True) -> PassResult:
    """What the worker calls each pass: apply, then (when due) snapshot."""
    result = PassResult(applied=apply_pending())
    if take_snapshot:
        result.snapshots = snapshot(now)
    return result
