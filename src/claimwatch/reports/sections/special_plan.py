"""Special report on one inspection plan (专项报告: 抽检计划): the population, method and sample sizes, the
results with the stratified estimate and its interval, the findings by severity and the rectifications they
opened with their status."""

from __future__ import annotations

from claimwatch.inspections import estimates
from claimwatch.inspections.models import InspectionPlan
from claimwatch.reports import charts
from claimwatch.reports.sections import base
from claimwatch.reports.sections.base import ReportContext, Section
from claimwatch.reports.sections.special_common import (
    draws_table,
    estimate_part,
    plan_facts,
    plan_findings,
    subject,
    t,
)
from claimwatch.web.i18n import N_

KIND = "special_plan"
TEMPLATE = "special_plan.html"


def _plan(ctx: ReportContext) -> InspectionPlan:
    return subject(ctx, InspectionPlan, "inspection plan")


def design(ctx: ReportContext) -> Section:
    plan = _plan(ctx)
    results = estimates.plan_results(ctx.session, plan.code)
    return Section(
        key=KIND,
        title=t(ctx, N_("Plan and sample")),
        template=TEMPLATE,
        data={"facts": plan_facts(ctx, plan), "tables": [draws_table(ctx, results)] if results.draws else []},
    )


def results(ctx: ReportContext) -> Section:
    plan = _plan(ctx)
    found = estimates.plan_results(ctx.session, plan.code)
    facts, tables, sentences = estimate_part(ctx, found)
    drawn: dict[str, str] = {}
    current = found.current
    if current is not None and len(current.strata) > 1:
        rows = [row for row in current.strata if row.rate is not None]
        if rows:
            drawn["strata"] = charts.bar_chart(
                [row.label for row in rows],
                [row.rate * 100 for row in rows if row.rate is not None],
                unit="%",
                reference=None if current.estimate.rate is None else current.estimate.rate * 100,
                reference_label=t(ctx, N_("Overall")),
                title=t(ctx, N_("Error rate by stratum")),
            )
    return Section(
        key="special_plan_results",
        title=t(ctx, N_("Results and estimate")),
        template=TEMPLATE,
        data={"facts": facts, "paragraphs": sentences, "tables": tables},
        charts=drawn,
    )


def findings(ctx: ReportContext) -> Section:
    plan = _plan(ctx)
    tables, by_severity = plan_findings(ctx, plan)
    paragraphs = [] if sum(by_severity.values()) else [t(ctx, N_("The inspections of this plan recorded no finding."))]
    return Section(
        key="special_plan_findings",
        title=t(ctx, N_("Findings and rectifications")),
        template=TEMPLATE,
        data={"paragraphs": paragraphs, "tables": tables},
    )


base.register(KIND, 10, design)
base.register(KIND, 20, results)
base.register(KIND, 30, findings)
