"""Quality report: the p-chart alerts (预警) raised for the period's months — KPI, unit, its rate against the
tenant's rate and the control limit — and the special inspections (专项检查) opened from them."""

from __future__ import annotations

from typing import Any

from claimwatch.inspections import special as special_inspections
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi.models import QualityAlert
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate

KEY = "alerts"
TITLE = N_("Alerts")
DIMENSIONS = {"region": N_("Region"), "org": N_("Org unit")}
LIMIT = 500


def alerts_of(ctx: ReportContext) -> list[QualityAlert]:
    """The alerts of the period's months in the report's tenant (every tenant in the regulator edition)."""
    found = getattr(ctx, "_report_alerts", None)
    if isinstance(found, list):
        return found
    rows = [
        alert
        for alert in kpi_alerts.recent_alerts(ctx.session, common.months_of(ctx.period), LIMIT)
        if ctx.tenant_id is None or alert.tenant_id == ctx.tenant_id
    ]
    setattr(ctx, "_report_alerts", rows)  # noqa: B010 - a per-report cache on the builder's context
    return rows


def build(ctx: ReportContext) -> Section | None:
    found = alerts_of(ctx)
    catalogue = common.catalogue()
    plans = special_inspections.plans_for_alerts(ctx.session, [alert.id for alert in found])
    tenants = {t.id: t.code for t in tenancy_service.tenant_labels(ctx.session)} if ctx.tenant_id is None else {}
    rows: list[dict[str, Any]] = []
    for alert in sorted(found, key=lambda a: (a.period, a.kpi_code, a.dimension, a.unit_label)):
        kpi = catalogue.get(alert.kpi_code)
        lower_is_better = kpi is None or kpi.better == "lower"
        limit = alert.upper_limit if lower_is_better else alert.lower_limit
        rows.append(
            {
                "tenant": tenants.get(alert.tenant_id, ""),
                "period": alert.period,
                "kpi": kpi.name(ctx.locale) if kpi else alert.kpi_code,
                "dimension": translate(ctx.locale, DIMENSIONS.get(alert.dimension, alert.dimension)),
                "unit": alert.unit_label,
                "rate": f"{alert.rate:.1%}",
                "basis": f"{alert.numerator:,} / {alert.count:,}",
                "expected": f"{alert.expected:.1%}",
                "limit": f"{limit:.1%}",
                "side": "upper" if lower_is_better else "lower",
                "special_plan": plans.get(alert.id),
            }
        )
    by_kpi: dict[str, int] = {}
    for row in rows:
        by_kpi[row["kpi"]] = by_kpi.get(row["kpi"], 0) + 1
    data = {
        "rows": rows,
        "count": len(rows),
        "special_count": sum(1 for row in rows if row["special_plan"]),
        "by_kpi": sorted(by_kpi.items(), key=lambda item: (-item[1], item[0])),
        "show_tenant": ctx.tenant_id is None,
        "months": common.months_of(ctx.period),
    }
    return Section(KEY, translate(ctx.locale, TITLE), f"{KEY}.html", data)


register("quality", 80, build)
