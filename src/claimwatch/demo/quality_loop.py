"""Demo: the quality loop (issue 13), in the order a quality department lives it.

A quality manager draws last month's plans (``inspection_plans``); the inspectors score the sampled cases
and record findings (``inspection_results``); the findings' rectifications move on time or late
(``rectifications``); sanctions are proposed and decided, one suspending a handler, with a blacklist
(``sanctions``); the newest statistical alert opens a special inspection and the KPI snapshot is retaken so
the dashboard counts the scored inspections (``inspection_alerts``). Runs after the KPI snapshot and alerts.
"""

from __future__ import annotations

import datetime as dt

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo import inspection_alerts, inspection_plans, inspection_results, rectifications
from claimwatch.demo import sanctions as demo_sanctions
from claimwatch.demo.generator import DemoSpec
from claimwatch.tenancy import repository as tenancy_repository


def load(spec: DemoSpec, now: dt.datetime | None = None) -> list[str]:
    """Every step of the loop for every demo insurer; answers one summary line per step."""
    now = now or utc_now()
    with unit_of_work(TenantContext.system_context()) as session:
        found = [tenancy_repository.tenant_by_code(session, t.code) for t in spec.tenants]
    tenant_ids = [t.id for t in found if t is not None]
    lines: list[str] = []
    plans = inspection_plans.load(spec, now)
    lines.append(
        f"inspection plans: {len(plans.plans)} plans, {len(plans.draws)} draws, {plans.sampled} cases sampled, "
        f"{plans.unassigned} without an eligible inspector"
    )
    lines += [f"  not drawn: {reason}" for reason in plans.refused]
    submitted = failed = findings = reviews = 0
    for tenant_id in tenant_ids:
        scored = inspection_results.load(tenant_id, now)
        submitted, failed = submitted + scored.submitted, failed + scored.failed
        findings, reviews = findings + scored.findings, reviews + scored.reviews
    lines.append(f"inspections: {submitted} scored, {failed} failed, {findings} findings, {reviews} reviews")
    moved = rectifications.load(tenant_ids, now)
    lines.append(f"rectifications: {moved.opened} opened, {moved.red} red; by state {moved.by_status}")
    decided = demo_sanctions.load(tenant_ids, now)
    lines.append(
        f"sanctions: {decided.proposed} proposed, {decided.approved} approved, {decided.rejected} rejected; "
        f"suspended {', '.join(decided.suspended or []) or 'nobody'}; {decided.blacklisted} blacklisted"
    )
    special = inspection_alerts.load(spec, now)
    lines.append(
        f"special inspections from alerts: {', '.join(special.opened) or 'none'}"
        + (f" (no alert at {', '.join(special.without_alert)})" if special.without_alert else "")
    )
    return lines
