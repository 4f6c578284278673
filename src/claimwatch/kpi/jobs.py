"""KPI passes of the worker (and of ``claimwatch kpi alerts``): refresh the snapshot, evaluate the alerts."""

from __future__ import annotations

from pathlib import Path

import structlog

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import alerts, service
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.alerts import Evaluation, Finding
from claimwatch.kpi.engine import Period

log = structlog.get_logger("claimwatch.kpi")


def evaluate_alerts(
    periods: list[Period] | None = None,
    root: Path | None = None,
    min_count: int | None = None,
    sigma: float | None = None,
) -> Evaluation:
    """Finds out-of-control units in the current snapshot and records alerts, each tenant in its own
    transaction (one tenant's failure leaves the others' alerts). Default periods: the snapshot's month and
    the ones before it (ALERT_LOOKBACK_MONTHS). No snapshot yet: nothing to evaluate."""
    try:
        with service.opened(root) as snap:
            if periods is None:
                current = Period.containing(snap.local_now.date())
                periods = current.trailing(get_settings().alert_lookback_months)
            evaluation = alerts.find(snap, periods, min_count, sigma)
    except service.NoSnapshot:
        return Evaluation()
    by_tenant: dict[int, list[Finding]] = {}
    for finding in evaluation.findings:
        by_tenant.setdefault(finding.tenant_id, []).append(finding)
    for tenant_id, findings in sorted(by_tenant.items()):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            alerts.record(session, tenant_id, findings, evaluation)
    log.info(
        "kpi alerts",
        periods=evaluation.periods,
        units=evaluation.units_checked,
        findings=len(evaluation.findings),
        created=evaluation.created,
        notified=evaluation.notified,
    )
    return evaluation


def refresh() -> Evaluation:
    """The worker's KPI pass: a fresh snapshot, then the alerts on it."""
    kpi_snapshot.take_snapshot()
    return evaluate_alerts()
