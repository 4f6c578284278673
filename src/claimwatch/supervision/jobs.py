"""Worker passes and command-line runs of the supervision domain that own their transactions: the monthly
whitelist (after each KPI refresh the worker computes the month that just ended, once)."""

from __future__ import annotations

from pathlib import Path

import structlog
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import service as kpi_service
from claimwatch.supervision import whitelist
from claimwatch.supervision.models import WhitelistStatus

log = structlog.get_logger("claimwatch.supervision")


def compute_whitelist(
    month: str, actor: str = "system", rule: whitelist.Rule | None = None, root: Path | None = None
) -> list[WhitelistStatus]:
    """One month's whitelist in one transaction (every insurer, each in its audit chain)."""
    with unit_of_work(TenantContext.system_context()) as session:
        rows = whitelist.compute_month(session, month, actor=actor, rule=rule, root=root)
        session.expunge_all()
    log.info("whitelist", month=month, insurers=len(rows), qualify=sum(1 for r in rows if r.qualifies))
    return rows


def run_monthly(root: Path | None = None) -> str | None:
    """The worker's pass: the whitelist of the last month the snapshot has seen end, when it was not computed
    yet. Returns the month computed (None: nothing to do, or no snapshot yet)."""
    try:
        with kpi_service.opened(root) as snap:
            month = whitelist.last_complete_month(snap.local_now).label
    except kpi_service.NoSnapshot:
        return None
    with unit_of_work(TenantContext.system_reader()) as session:
        done = session.scalar(select(WhitelistStatus.id).where(WhitelistStatus.month == month).limit(1))
    if done is not None:
        return None
    compute_whitelist(month, root=root)
    return month
