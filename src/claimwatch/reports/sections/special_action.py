"""Special report on one improvement action (专项报告: 改进措施): the problem, the root cause (5 whys or the
fishbone's 人/机/料/法/环/测), the steps, and the effectiveness check with its figures and the KPI's months before
and after the intervention as a chart."""

from __future__ import annotations

from typing import Any

from claimwatch.actions import effectiveness, vocabulary
from claimwatch.actions import repository as actions_repository
from claimwatch.actions.models import ImprovementAction
from claimwatch.kpi import loader as kpi_loader
from claimwatch.reports import charts
from claimwatch.reports.sections import base
from claimwatch.reports.sections.base import ReportContext, Section
from claimwatch.reports.sections.special_common import day, people, subject, t, table
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_

KIND = "special_action"
TEMPLATE = "special_action.html"


def _action(ctx: ReportContext) -> ImprovementAction:
    return subject(ctx, ImprovementAction, "improvement action")


def _rca_table(ctx: ReportContext, action: ImprovementAction) -> dict[str, Any] | None:
    rca = action.rca or {}
    if action.rca_method == vocabulary.FIVE_WHYS and isinstance(rca, dict) and rca.get("whys"):
        rows = [[i, w.get("why", ""), w.get("answer", "")] for i, w in enumerate(rca["whys"], 1)]
        return table(t(ctx, N_("5 whys")), ["#", t(ctx, N_("Why?")), t(ctx, N_("Because"))], rows)
    if action.rca_method == vocabulary.FISHBONE and isinstance(rca, dict):
        rows = [
            [
                vocabulary.label(vocabulary.FISHBONE_LABELS, code, ctx.locale),
                "；".join(str(c) for c in rca.get(code) or []),
            ]
            for code in vocabulary.FISHBONE_CATEGORIES
            if rca.get(code)
        ]
        return table(t(ctx, N_("Fishbone")), [t(ctx, N_("Category")), t(ctx, N_("Causes"))], rows) if rows else None
    return None


def problem(ctx: ReportContext) -> Section:
    action = _action(ctx)
    kpi = kpi_loader.by_code().get(action.kpi_code or "")
    names = people(ctx, [action.owner_user_id])
    scope = [s for s in (action.scope_region, action.scope_line) if s]
    unit = ctx.session.get(OrgUnit, action.scope_org_unit_id) if action.scope_org_unit_id else None
    if unit is not None:
        scope.insert(0, unit.name)
    facts = [
        (t(ctx, N_("Improvement action")), f"{action.number} · {action.title}"),
        (t(ctx, N_("Source")), action.source_label),
        (t(ctx, N_("Indicator")), kpi.name(ctx.locale) if kpi else "—"),
        (t(ctx, N_("Scope")), " · ".join(scope) or t(ctx, N_("Whole company"))),
        (t(ctx, N_("Owner")), names.get(action.owner_user_id, "—")),
        (t(ctx, N_("Due")), day(action.due_at, ctx)),
        (t(ctx, N_("Phase")), vocabulary.label(vocabulary.PHASE_LABELS, action.phase, ctx.locale)),
        (t(ctx, N_("Cycle")), str(action.cycle)),
    ]
    paragraphs = [action.problem]
    if action.root_cause:
        paragraphs.append(t(ctx, N_("Root cause: %(cause)s")) % {"cause": action.root_cause})
    rca = _rca_table(ctx, action)
    return Section(
        key=KIND,
        title=t(ctx, N_("Problem and root cause")),
        template=TEMPLATE,
        data={"facts": facts, "paragraphs": paragraphs, "tables": [rca] if rca else []},
    )


def steps(ctx: ReportContext) -> Section | None:
    action = _action(ctx)
    found = actions_repository.steps(ctx.session, action.tenant_id, [action.id])
    if not found:
        return None
    names = people(ctx, [s.owner_user_id for s in found])
    rows = [
        [s.position, s.text, names.get(s.owner_user_id, "—"), day(s.due_at, ctx), day(s.done_at, ctx)]
        for s in sorted(found, key=lambda s: s.position)
    ]
    columns = ["#", t(ctx, N_("Action step")), t(ctx, N_("Owner")), t(ctx, N_("Due")), t(ctx, N_("Done on"))]
    return Section(
        key="special_action_steps",
        title=t(ctx, N_("Steps")),
        template=TEMPLATE,
        data={"tables": [table(t(ctx, N_("Plan steps")), columns, rows)]},
        level=2,
    )


def check(ctx: ReportContext) -> Section:
    action = _action(ctx)
    title = t(ctx, N_("Effectiveness check"))
    if not action.check_result:
        paragraphs = [t(ctx, N_("The effectiveness check has not been run yet."))]
        return Section(key="special_action_check", title=title, template=TEMPLATE, data={"paragraphs": paragraphs})
    result = effectiveness.EffectivenessResult.from_json(action.check_result)
    kpi = kpi_loader.by_code().get(result.kpi_code)
    name = kpi.name(ctx.locale) if kpi else result.kpi_code

    def shown(value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:.1f}%" if result.unit == "%" else f"{value:,.2f}"

    sides = [(t(ctx, N_("Before")), result.before), (t(ctx, N_("After")), result.after)]
    rows = [[label, f"{side.window.start} – {side.window.end}", side.n, shown(side.value)] for label, side in sides]
    facts = [
        (t(ctx, N_("Verdict")), t(ctx, effectiveness.verdict_label(result.verdict))),
        (t(ctx, N_("Test")), t(ctx, effectiveness.test_label(result.test))),
        (t(ctx, N_("p-value")), "—" if result.p_value is None else f"{result.p_value:.3g}"),
        (t(ctx, N_("Checked on")), day(action.checked_at, ctx)),
    ]
    paragraphs = [effectiveness.summary_text(result, ctx.locale)]
    if result.reason:
        paragraphs.append(effectiveness.reason_text(result, ctx.locale))
    months = sorted({label for _, side in sides for label, _ in side.series})
    before = dict(result.before.series)
    after = dict(result.after.series)
    drawn: dict[str, str] = {}
    if months:
        drawn["before_after"] = charts.line_chart(
            months,
            [
                (t(ctx, N_("Before")), [before.get(m) for m in months]),
                (t(ctx, N_("After")), [after.get(m) for m in months]),
            ],
            unit=result.unit,
            target=kpi.target if kpi else None,
            target_label=t(ctx, N_("Target")),
            title=t(ctx, N_("%(kpi)s before and after")) % {"kpi": name},
        )
    columns = [t(ctx, N_("Window")), t(ctx, N_("Dates")), "n", name]
    standards = [
        [
            vocabulary.label(vocabulary.STANDARD_LABELS, ref.get("kind"), ctx.locale),
            ref.get("code", ""),
            ref.get("version", ""),
        ]
        for ref in action.standard_refs or []
    ]
    tables = [table(t(ctx, N_("Before and after")), columns, rows, numeric=(2, 3))]
    if standards:
        columns = [t(ctx, N_("Standard")), t(ctx, N_("Code")), t(ctx, N_("Version"))]
        tables.append(table(t(ctx, N_("Standardised in")), columns, standards))
    return Section(
        key="special_action_check",
        title=title,
        template=TEMPLATE,
        data={"facts": facts, "paragraphs": paragraphs, "tables": tables},
        charts=drawn,
    )


base.register(KIND, 10, problem)
base.register(KIND, 20, steps)
base.register(KIND, 30, check)
