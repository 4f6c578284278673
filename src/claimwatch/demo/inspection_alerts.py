"""Demo: an alert opened a special inspection, and the dashboard shows audit accuracy with its interval.

For each insurer, its quality manager opens the special inspection (专项检查) of its newest statistical alert
whose unit has cases to inspect in the alert's month (one click on the dashboard does the same), through
``inspections.special.open_for_alert``: a plan ALERT-<id> on the alerted unit and month, drawn at once and
assigned. Then a fresh KPI snapshot, so the dashboard's audit accuracy (with its interval), coverage and
rectification rates count the inspections scored and the rectifications worked by the earlier demo steps.

Call last among the inspection steps, after the KPI alerts, the inspection results and the rectifications
exist: ``demo_inspection_alerts.load(spec)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.errors import Problem
from claimwatch.inspections import special
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.models import QualityAlert
from claimwatch.tenancy import repository as tenancy_repository


@dataclass
class Loaded:
    opened: list[str] = field(default_factory=list)  # plan codes
    refused: list[str] = field(default_factory=list)
    without_alert: list[str] = field(default_factory=list)  # insurers with no alert to act on
    snapshot_taken: bool = False


def load(spec: DemoSpec, now: dt.datetime | None = None, take_snapshot: bool = True) -> Loaded:
    now = now or utc_now()
    loaded = Loaded()
    catalogue = kpi_loader.by_code()
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
            qm = auth_repository.user_by_username(session, f"{tenant.code.lower()}.qm")
            if found is None or qm is None:
                continue
            tenant_id, principal = found.id, auth_service.principal_for_user(qm)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            alerts = list(session.scalars(select(QualityAlert).order_by(QualityAlert.period.desc(), QualityAlert.id)))
            session.expunge_all()
        opened = False
        for alert in alerts:
            ref = kpi_alerts.alert_ref(alert, catalogue.get(alert.kpi_code))
            try:
                with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                    plan, _ = special.open_for_alert(session, principal, ref, now=now)
                    loaded.opened.append(plan.code)
            except Problem as exc:  # e.g. no motor claim of the alerted unit in its month
                loaded.refused.append(f"{tenant.code} alert {alert.id}: {exc.field}: {exc.message}")
                continue
            opened = True
            break
        if not opened:
            loaded.without_alert.append(tenant.code)
    if take_snapshot:
        kpi_snapshot.take_snapshot(now=now)
        loaded.snapshot_taken = True
    return loaded
