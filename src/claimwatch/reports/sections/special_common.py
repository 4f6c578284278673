"""What the special reports (专项报告: one alert, one inspection plan, one improvement action) share: finding the
subject at the report's insurer (another insurer's is not found), number formats, and the tables of the
inspection plan and of the actions raised from a source, which the alert's report shows too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select

from claimwatch.actions import sources as action_sources
from claimwatch.actions import vocabulary as action_vocabulary
from claimwatch.actions.effectiveness import verdict_label
from claimwatch.actions.models import ImprovementAction
from claimwatch.auth.models import User
from claimwatch.errors import NotFound
from claimwatch.inspections import estimates
from claimwatch.inspections import findings as inspection_findings
from claimwatch.inspections import statistics as inspection_statistics
from claimwatch.inspections.models import Inspection, InspectionFinding, InspectionPlan
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.rectification.models import Rectification
from claimwatch.rectification.vocabulary import STATUS_LABELS as RECTIFICATION_STATUS_LABELS
from claimwatch.reports.sections.base import ReportContext
from claimwatch.web.i18n import N_, translate

T = TypeVar("T")

METHOD_LABELS = {
    "simple": N_("Simple random sample"),
    "stratified": N_("Stratified random sample"),
    "targeted": N_("Targeted (not random)"),
}
STRATA_LABELS = {"org": N_("Org unit"), "line": N_("Line of business"), "region": N_("Region")}


def subject(ctx: ReportContext, model: type[T], what: str) -> T:
    """The report's subject row at the report's insurer; another insurer's (or none) is not found."""
    found = ctx.session.get(model, ctx.subject_id) if ctx.subject_id is not None else None
    if found is None or getattr(found, "tenant_id", None) != ctx.tenant_id:
        raise NotFound("subject_id", f"no {what} {ctx.subject_id} at this insurer")
    return found


def t(ctx: ReportContext, msgid: str) -> str:
    return translate(ctx.locale, msgid)


def pct(fraction: float | None, digits: int = 1) -> str:
    return "—" if fraction is None else f"{fraction * 100:.{digits}f}%"


def interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{pct(low)} – {pct(high)}"


def day(moment: dt.datetime | None, ctx: ReportContext) -> str:
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(ctx.zone).strftime("%Y-%m-%d")


def people(ctx: ReportContext, ids: Sequence[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = ctx.session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(wanted)))
    return {int(i): str(name or username) for i, name, username in rows}


def table(
    caption: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()
) -> dict[str, Any]:
    return {"caption": caption, "columns": list(columns), "rows": [list(r) for r in rows], "numeric": list(numeric)}


# -- improvement actions raised from a source --------------------------------------------------------------


def actions_table(ctx: ReportContext, actions: Sequence[ImprovementAction], caption: str) -> dict[str, Any]:
    names = people(ctx, [a.owner_user_id for a in actions])
    rows = []
    for action in actions:
        verdict = t(ctx, verdict_label(action.check_verdict)) if action.check_verdict else "—"
        rows.append(
            [
                action.number,
                action.title,
                action_vocabulary.label(action_vocabulary.PHASE_LABELS, action.phase, ctx.locale),
                names.get(action.owner_user_id, "—"),
                day(action.due_at, ctx),
                verdict,
            ]
        )
    columns = [t(ctx, N_("Improvement action")), t(ctx, N_("Title")), t(ctx, N_("Phase")), t(ctx, N_("Owner"))]
    columns += [t(ctx, N_("Due")), t(ctx, N_("Effectiveness"))]
    return table(caption, columns, rows)


def actions_from(ctx: ReportContext, source_kind: str, source_id: int) -> list[ImprovementAction]:
    assert ctx.tenant_id is not None
    return action_sources.actions_for_source(ctx.session, ctx.tenant_id, source_kind, source_id)


# -- an inspection plan ------------------------------------------------------------------------------------


def plan_facts(ctx: ReportContext, plan: InspectionPlan) -> list[tuple[str, str]]:
    definition = PlanDefinition.model_validate_json(plan.definition)
    size = definition.size
    if size is None:
        sizing = "—"
    elif size.fixed:
        sizing = t(ctx, N_("%(n)s cases")) % {"n": size.fixed}
    elif size.share:
        sizing = pct(size.share)
    else:
        sizing = t(ctx, N_("confidence %(confidence)s, margin ±%(margin)s, expected error rate %(rate)s")) % {
            "confidence": pct(size.confidence, 0),
            "margin": pct(size.margin),
            "rate": pct(size.expected_error_rate or definition.expected_error_rate),
        }
    method = t(ctx, METHOD_LABELS.get(definition.method, definition.method))
    if definition.method == "stratified":
        strata = ", ".join(t(ctx, STRATA_LABELS.get(s, s)) for s in definition.strata)
        method += f" · {strata} · {definition.allocation}"
    population = ", ".join(f"{k}={v}" for k, v in definition.population.items()) or "—"
    return [
        (t(ctx, N_("Inspection plan")), f"{plan.code} · {plan.name}"),
        (t(ctx, N_("Subjects")), plan.subject_kind),
        (t(ctx, N_("Scorecard")), plan.scorecard_code),
        (t(ctx, N_("Population")), population),
        (t(ctx, N_("Method")), method),
        (t(ctx, N_("Sample size")), sizing),
    ]


def draws_table(ctx: ReportContext, results: estimates.PlanResults) -> dict[str, Any]:
    rows = [[d.period, d.population_count, d.sample_count, day(d.drawn_at, ctx)] for d in results.draws]
    columns = [t(ctx, N_("Period")), t(ctx, N_("Population")), t(ctx, N_("Sample")), t(ctx, N_("Drawn on"))]
    return table(t(ctx, N_("Draws")), columns, rows, numeric=(1, 2))


def estimate_part(
    ctx: ReportContext, results: estimates.PlanResults
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], list[str]]:
    """(facts, tables, sentences) of the newest draw's estimate."""
    current = results.current
    if current is None:
        return [], [], [t(ctx, N_("The plan has not been drawn yet."))]
    est = current.estimate
    low_high = est.accuracy_interval
    facts = [
        (t(ctx, N_("Period")), current.draw.period),
        (t(ctx, N_("Inspected")), f"{est.inspected} / {current.sampled}"),
        (t(ctx, N_("Errors")), str(est.errors)),
        (t(ctx, N_("Error rate (estimate)")), f"{pct(est.rate)} ({interval(est.low, est.high)})"),
        (
            t(ctx, N_("Accuracy (estimate)")),
            f"{pct(est.accuracy)} ({interval(low_high[0], low_high[1]) if low_high else '—'})",
        ),
        (t(ctx, N_("Confidence")), pct(est.confidence, 0)),
    ]
    strata_rows = [
        [row.label, row.population, row.sampled, row.inspected, row.errors, pct(row.rate), interval(row.low, row.high)]
        for row in current.strata
    ]
    tables: list[dict[str, Any]] = []
    if strata_rows:
        columns = [t(ctx, N_("Stratum")), t(ctx, N_("Population")), t(ctx, N_("Sample")), t(ctx, N_("Inspected"))]
        columns += [t(ctx, N_("Errors")), t(ctx, N_("Error rate")), t(ctx, N_("Interval"))]
        tables.append(table(t(ctx, N_("By stratum")), columns, strata_rows, numeric=(1, 2, 3, 4, 5)))
    sentences = [inspection_statistics.render(c, lambda m: t(ctx, m)) for c in current.conclusions]
    return facts, tables, sentences


def plan_findings(ctx: ReportContext, plan: InspectionPlan) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The findings of the plan's inspections with their rectifications, and the count by severity."""
    rows = ctx.session.execute(
        select(InspectionFinding, Rectification)
        .join(Inspection, Inspection.id == InspectionFinding.inspection_id)
        .outerjoin(Rectification, Rectification.id == InspectionFinding.rectification_id)
        .where(Inspection.plan_id == plan.id)
        .order_by(InspectionFinding.id)
    ).all()
    by_severity = {code: 0 for code in inspection_findings.SEVERITIES}
    finding_rows, rectification_rows = [], []
    for finding, rectification in rows:
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
        description = finding.description if len(finding.description) <= 80 else finding.description[:79] + "…"
        finding_rows.append(
            [
                finding.number,
                inspection_findings.label(inspection_findings.SEVERITIES, finding.severity, ctx.locale),
                inspection_findings.label(inspection_findings.CATEGORIES, finding.category, ctx.locale),
                description,
                rectification.number if rectification is not None else "—",
            ]
        )
        if rectification is not None:
            status = translate(ctx.locale, RECTIFICATION_STATUS_LABELS.get(rectification.status, rectification.status))
            rectification_rows.append(
                [
                    rectification.number,
                    rectification.title,
                    status,
                    day(rectification.plan_due_at, ctx),
                    day(rectification.acceptance_due_at, ctx),
                    day(rectification.accepted_at, ctx),
                ]
            )
    tables: list[dict[str, Any]] = []
    severity_rows = [
        [inspection_findings.label(inspection_findings.SEVERITIES, code, ctx.locale), count]
        for code, count in by_severity.items()
    ]
    tables.append(
        table(t(ctx, N_("Findings by severity")), [t(ctx, N_("Severity")), t(ctx, N_("Findings"))], severity_rows, (1,))
    )
    if finding_rows:
        columns = [t(ctx, N_("Finding")), t(ctx, N_("Severity")), t(ctx, N_("Category")), t(ctx, N_("Description"))]
        columns.append(t(ctx, N_("Rectification")))
        tables.append(table(t(ctx, N_("Findings")), columns, finding_rows))
    if rectification_rows:
        columns = [t(ctx, N_("Rectification")), t(ctx, N_("Title")), t(ctx, N_("Status")), t(ctx, N_("Plan due on"))]
        columns += [t(ctx, N_("Acceptance due")), t(ctx, N_("Accepted on"))]
        tables.append(table(t(ctx, N_("Rectifications")), columns, rectification_rows))
    return tables, by_severity
