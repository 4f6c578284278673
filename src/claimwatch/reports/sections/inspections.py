"""Quality report: inspections (品质抽检) — audit accuracy with its interval (the dashboard's stratified estimate,
Wilson intervals per stratum) and what the sample can conclude, coverage, the findings (问题) recorded in the
period by severity and category, and rectification (整改): opened, accepted, open and overdue, on-time rates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from claimwatch.inspections import estimates, statistics
from claimwatch.inspections import findings as inspection_findings
from claimwatch.inspections.models import InspectionFinding
from claimwatch.kpi.queries import accuracy_estimate
from claimwatch.rectification import vocabulary as rectification_vocabulary
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "inspections"
TITLE = N_("Inspections and rectification")
SUB_ACCURACY = N_("Audit accuracy")
SUB_FINDINGS = N_("Findings")
SUB_RECTIFICATION = N_("Rectification")
ACCURACY = "audit_accuracy"
COVERAGE = "inspection_coverage"
RECTIFICATION_KPIS = ("rectification_plan_on_time", "rectification_acceptance_on_time", "rectification_completion")
SEVERITIES = ("severe", "major", "minor")


def _accuracy(ctx: ReportContext) -> dict[str, Any] | None:
    kpi = common.catalogue().get(ACCURACY)
    if kpi is None or not kpi.available:
        return None
    row = common.kpi_row(ctx, kpi)
    estimate = accuracy_estimate(ctx.snap, ctx.scope, kpi, ctx.period)
    if estimate is None:
        return row | {"estimate": None}
    names = {str(code): str(name) for code, name in common.snapshot_query(ctx, "SELECT code, name FROM org_units", ())}
    # The estimate's strata are "<draw>:<stratum key>": a conclusion names its stratum as the results page does.
    conclusions = [
        statistics.Conclusion(
            c.msgid,
            c.params | {"stratum": estimates.stratum_label(c.stratum.partition(":")[2], names) or c.stratum},
            c.kind,
            c.stratum,
        )
        if c.stratum is not None and "stratum" in c.params
        else c
        for c in estimate.conclusions
    ]
    interval = estimate.accuracy_interval
    if interval is not None and kpi.target is not None:
        # Whether the interval settles the target (the inspection results page says the same of a draw).
        target = kpi.target / 100.0
        params = {"limit": statistics.percent(1.0 - target), "target": f"{kpi.target:g}%"}
        if interval[0] >= target:
            conclusions.append(statistics.Conclusion(statistics.MSG_TARGET_MET, params))
        elif interval[1] < target:
            conclusions.append(statistics.Conclusion(statistics.MSG_TARGET_MISSED, params, "warning"))
        else:
            conclusions.append(statistics.Conclusion(statistics.MSG_TARGET_OPEN, params, "limit"))
    effective = estimate.effective_n
    return row | {
        "estimate": {
            "inspected": common.count(estimate.inspected),
            "errors": common.count(estimate.errors),
            "population": common.count(estimate.population),
            "low": statistics.percent(interval[0]) if interval else "—",
            "high": statistics.percent(interval[1]) if interval else "—",
            "confidence": statistics.percent(estimate.confidence, 0),
            "effective_n": "—" if effective is None or effective == float("inf") else f"{effective:,.0f}",
            "method": estimate.method,
            "conclusions": [
                {"kind": c.kind, "text": statistics.render(c, lambda m: translate(ctx.locale, m))} for c in conclusions
            ],
        }
    }


def _findings(ctx: ReportContext) -> list[dict[str, Any]]:
    start, end = common.local_bounds(ctx)
    statement = (
        select(InspectionFinding.severity, InspectionFinding.category, func.count())
        .where(InspectionFinding.created_at >= start, InspectionFinding.created_at < end)
        .group_by(InspectionFinding.severity, InspectionFinding.category)
    )
    if ctx.tenant_id is not None:
        statement = statement.where(InspectionFinding.tenant_id == ctx.tenant_id)
    counts: dict[str, dict[str, int]] = {}
    for severity, category, number in ctx.session.execute(statement):
        counts.setdefault(severity, {})[category] = int(number)
    rows = []
    for severity in sorted(counts, key=lambda s: (SEVERITIES.index(s) if s in SEVERITIES else 9, s)):
        for category, number in sorted(counts[severity].items(), key=lambda item: (-item[1], item[0])):
            rows.append(
                {
                    "severity": severity,
                    "severity_label": inspection_findings.label(inspection_findings.SEVERITIES, severity, ctx.locale),
                    "category": inspection_findings.label(inspection_findings.CATEGORIES, category, ctx.locale),
                    "count": number,
                }
            )
    return rows


def _rectifications(ctx: ReportContext) -> dict[str, Any] | None:
    active = ", ".join(f"'{status}'" for status in rectification_vocabulary.ACTIVE)
    where, params = common.scoped(ctx)
    bounds = common.period_params(ctx.period)
    statement = (
        "SELECT severity, "  # noqa: S608 - a fixed vocabulary and the engine's scope
        "count(*) FILTER (WHERE opened_at >= ? AND opened_at < ?), "
        "count(*) FILTER (WHERE accepted_at >= ? AND accepted_at < ?), "
        f"count(*) FILTER (WHERE status IN ({active})), "
        f"count(*) FILTER (WHERE status IN ({active}) AND (plan_overdue OR acceptance_overdue)) "
        f"FROM rectifications WHERE {where} GROUP BY severity"
    )
    found = common.snapshot_query(ctx, statement, [*bounds, *bounds, *params])
    if not found:
        return None
    rows = []
    totals = [0, 0, 0, 0]
    for severity, opened, accepted, open_now, overdue in sorted(
        found, key=lambda r: SEVERITIES.index(r[0]) if r[0] in SEVERITIES else 9
    ):
        figures = [int(opened), int(accepted), int(open_now), int(overdue)]
        totals = [a + b for a, b in zip(totals, figures, strict=True)]
        label = rectification_vocabulary.SEVERITY_LABELS.get(severity)
        rows.append({"severity": translate(ctx.locale, label) if label else severity, "figures": figures})
    kpis = [common.kpi_row(ctx, kpi) for kpi in common.available(RECTIFICATION_KPIS)]
    return {"rows": rows, "totals": totals, "kpis": kpis, "snapshot_at": common.snapshot_time(ctx)}


def build(ctx: ReportContext) -> Section | None:
    locale = ctx.locale
    accuracy = _accuracy(ctx)
    coverage_kpi = common.catalogue().get(COVERAGE)
    coverage = common.kpi_row(ctx, coverage_kpi) if coverage_kpi is not None and coverage_kpi.available else None
    found = _findings(ctx)
    rectification = _rectifications(ctx)
    measured = accuracy is not None and accuracy["value"] is not None
    if not measured and not found and rectification is None:
        return None  # nothing inspected, found or rectified: no data in this scope
    data = {
        "accuracy": accuracy,
        "coverage": coverage,
        "findings": found,
        "findings_total": sum(row["count"] for row in found),
        "rectification": rectification,
    }
    subsections = [
        ("inspections-accuracy", translate(locale, SUB_ACCURACY)),
        ("inspections-findings", translate(locale, SUB_FINDINGS)),
        ("inspections-rectification", translate(locale, SUB_RECTIFICATION)),
    ]
    return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data, subsections=subsections)


register("quality", 60, build)
