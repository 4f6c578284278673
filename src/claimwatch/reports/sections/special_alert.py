"""Special report on one quality alert (专项报告: 质量预警): the alert and its KPI's monthly series for the unit
with the p-chart limits, the unit's other figures that month against the company's, the special inspection
the alert opened and its results, and the improvement actions raised from it with their verdicts."""

from __future__ import annotations

from claimwatch.config import get_settings
from claimwatch.inspections import estimates
from claimwatch.inspections import special as special_inspections
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi.engine import Period, Scope, compute
from claimwatch.kpi.models import QualityAlert
from claimwatch.kpi.queries import format_target, format_value
from claimwatch.reports import charts
from claimwatch.reports.sections import base
from claimwatch.reports.sections.base import ReportContext, Section
from claimwatch.reports.sections.special_common import (
    actions_from,
    actions_table,
    draws_table,
    estimate_part,
    pct,
    plan_facts,
    plan_findings,
    subject,
    t,
    table,
)
from claimwatch.web.i18n import N_

KIND = "special_alert"
TEMPLATE = "special_alert.html"
MONTHS = 12
DIMENSION_LABELS = {"region": N_("Region"), "org": N_("Org unit")}


def _alert(ctx: ReportContext) -> QualityAlert:
    return subject(ctx, QualityAlert, "quality alert")


def _unit_scope(ctx: ReportContext, alert: QualityAlert) -> Scope:
    assert ctx.tenant_id is not None
    if alert.dimension == "org" and alert.unit_key.isdigit():
        return Scope(tenant_ids=(ctx.tenant_id,), org_unit_id=int(alert.unit_key))
    return Scope(tenant_ids=(ctx.tenant_id,), region=alert.unit_key)


def overview(ctx: ReportContext) -> Section:
    alert = _alert(ctx)
    kpi = kpi_loader.by_code().get(alert.kpi_code)
    name = kpi.name(ctx.locale) if kpi else alert.kpi_code
    side = (
        N_("above the upper control limit")
        if kpi is None or kpi.better == "lower"
        else N_("below the lower control limit")
    )
    facts = [
        (t(ctx, N_("Indicator")), name),
        (t(ctx, DIMENSION_LABELS.get(alert.dimension, alert.dimension)), f"{alert.unit_label} ({alert.unit_key})"),
        (t(ctx, N_("Month")), alert.period),
        (t(ctx, N_("Rate")), f"{pct(alert.rate)} ({alert.numerator} / {alert.count})"),
        (t(ctx, N_("Company-wide")), pct(alert.expected)),
        (t(ctx, N_("Control limits")), f"{pct(alert.lower_limit)} – {pct(alert.upper_limit)}"),
        (t(ctx, N_("Signal")), t(ctx, side)),
    ]
    paragraphs = [kpi.definition(ctx.locale)] if kpi else []
    charts_out: dict[str, str] = {}
    rows = []
    if kpi is not None and kpi.available:
        periods = Period.parse(alert.period).trailing(MONTHS)
        assert ctx.tenant_id is not None
        scope = Scope(tenant_ids=(ctx.tenant_id,))
        now = ctx.snap.local_now
        overall = compute(ctx.snap.con, [kpi], periods, scope, ("tenant",), now)
        units = compute(ctx.snap.con, [kpi], periods, scope, ("tenant", alert.dimension), now)
        company = {v.period: v for v in overall.values}
        mine = {v.period: v for v in units.values if v.key[1] == alert.unit_key}
        sigma = get_settings().alert_sigma
        series: dict[str, list[float | None]] = {"unit": [], "company": [], "upper": [], "lower": []}
        for period in periods:
            base_value, value = company.get(period.label), mine.get(period.label)
            p = (base_value.numerator or 0) / base_value.denominator if base_value and base_value.denominator else None
            n = int(value.denominator) if value and value.denominator else 0
            rate = (value.numerator or 0) / n if value and n else None
            bounds = kpi_alerts.limits(p, n, sigma) if p is not None and n else None
            series["unit"].append(None if rate is None else rate * 100)
            series["company"].append(None if p is None else p * 100)
            series["upper"].append(None if bounds is None else bounds.upper * 100)
            series["lower"].append(None if bounds is None else bounds.lower * 100)
            rows.append(
                [
                    period.label,
                    pct(rate),
                    n or "—",
                    pct(p),
                    "—" if bounds is None else f"{pct(bounds.lower)} – {pct(bounds.upper)}",
                ]
            )
        labels = [p.label for p in periods]
        charts_out["pchart"] = charts.line_chart(
            labels,
            [
                (alert.unit_label, series["unit"]),
                (t(ctx, N_("Company-wide")), series["company"]),
                (t(ctx, N_("Upper limit")), series["upper"]),
                (t(ctx, N_("Lower limit")), series["lower"]),
            ],
            unit="%",
            title=t(ctx, N_("%(kpi)s: the unit against its control limits")) % {"kpi": name},
        )
    columns = [t(ctx, N_("Month")), t(ctx, N_("Rate")), t(ctx, N_("Cases")), t(ctx, N_("Company-wide"))]
    columns.append(t(ctx, N_("Control limits")))
    tables = [table(t(ctx, N_("The unit month by month")), columns, rows, numeric=(1, 2, 3))] if rows else []
    return Section(
        key=KIND,
        title=t(ctx, N_("The alert")),
        template=TEMPLATE,
        data={"facts": facts, "paragraphs": paragraphs, "tables": tables},
        charts=charts_out,
    )


def unit_figures(ctx: ReportContext) -> Section:
    """Every catalogue KPI with data for the unit in the alert's month, against the company's."""
    alert = _alert(ctx)
    assert ctx.tenant_id is not None
    period = Period.parse(alert.period)
    kpis = kpi_service.available_kpis()
    unit = kpi_service.values(ctx.snap, _unit_scope(ctx, alert), [period], kpis=kpis)
    company = kpi_service.values(ctx.snap, Scope(tenant_ids=(ctx.tenant_id,)), [period], kpis=kpis)
    rows = []
    for kpi in kpis:
        mine = unit.get(kpi.code, period.label)
        if mine is None or mine.value is None:
            continue
        whole = company.get(kpi.code, period.label)
        marker = " ◆" if kpi.code == alert.kpi_code else ""
        rows.append(
            [
                kpi.name(ctx.locale) + marker,
                format_value(kpi, mine.value, ctx.locale),
                format_value(kpi, whole.value if whole else None, ctx.locale),
                format_target(kpi, kpi.target, ctx.locale),
            ]
        )
    columns = [t(ctx, N_("Indicator")), alert.unit_label, t(ctx, N_("Company-wide")), t(ctx, N_("Target"))]
    caption = t(ctx, N_("%(unit)s in %(month)s")) % {"unit": alert.unit_label, "month": alert.period}
    return Section(
        key="special_alert_unit",
        title=t(ctx, N_("The unit's figures")),
        template=TEMPLATE,
        data={"tables": [table(caption, columns, rows, numeric=(1, 2))] if rows else []}
        | ({} if rows else {"paragraphs": [t(ctx, N_("No figures for this unit in the snapshot."))]}),
        level=2,
    )


def inspection(ctx: ReportContext) -> Section:
    alert = _alert(ctx)
    plan = special_inspections.plan_for_alert(ctx.session, alert.id)
    title = t(ctx, N_("Special inspection"))
    if plan is None:
        paragraphs = [t(ctx, N_("No special inspection was opened from this alert."))]
        return Section(key="special_alert_inspection", title=title, template=TEMPLATE, data={"paragraphs": paragraphs})
    results = estimates.plan_results(ctx.session, plan.code)
    facts, tables, sentences = estimate_part(ctx, results)
    finding_tables, _ = plan_findings(ctx, plan)
    return Section(
        key="special_alert_inspection",
        title=title,
        template=TEMPLATE,
        data={
            "facts": plan_facts(ctx, plan) + facts,
            "paragraphs": sentences,
            "tables": [draws_table(ctx, results), *tables, *finding_tables],
        },
    )


def actions(ctx: ReportContext) -> Section:
    alert = _alert(ctx)
    raised = actions_from(ctx, "alert", alert.id)
    title = t(ctx, N_("Improvement actions"))
    if not raised:
        paragraphs = [t(ctx, N_("No improvement action was raised from this alert."))]
        return Section(key="special_alert_actions", title=title, template=TEMPLATE, data={"paragraphs": paragraphs})
    return Section(
        key="special_alert_actions",
        title=title,
        template=TEMPLATE,
        data={"tables": [actions_table(ctx, raised, t(ctx, N_("Actions raised from the alert")))]},
    )


base.register(KIND, 10, overview)
base.register(KIND, 20, unit_figures)
base.register(KIND, 30, inspection)
base.register(KIND, 40, actions)
