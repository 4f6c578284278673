"""Quality report: improvement actions (改进措施, PDCA) — how many are in each phase, on-time completion (the
``action_on_time`` KPI), the overdue ones, and the effectiveness checks (效果验证) run in or before the period
with their verdicts and figures (``actions.effectiveness.EffectivenessResult`` as stored on the action).

The regulator edition shows the counts only (a regulator reads aggregates, not an insurer's action list)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from claimwatch.actions import effectiveness, vocabulary
from claimwatch.actions import repository as actions_repository
from claimwatch.actions.models import ImprovementAction
from claimwatch.auth import repository as auth_repository
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "actions"
TITLE = N_("Improvement actions")
SUB_PHASES = N_("Actions by phase")
SUB_OVERDUE = N_("Overdue actions")
SUB_CHECKS = N_("Effectiveness checks")
ON_TIME = "action_on_time"
CHECKS = 20  # the latest checks listed
OVERDUE = 30


def _phases(ctx: ReportContext) -> dict[str, int]:
    where, params = common.scoped(ctx)
    statement = f"SELECT phase, count(*) FROM actions WHERE {where} GROUP BY phase"  # noqa: S608
    rows = common.snapshot_query(ctx, statement, params)
    return {str(phase): int(number) for phase, number in rows}


def _opened_completed(ctx: ReportContext) -> tuple[int, int]:
    where, params = common.scoped(ctx)
    bounds = common.period_params(ctx.period)
    statement = (
        "SELECT count(*) FILTER (WHERE opened_at >= ? AND opened_at < ?), "  # noqa: S608 - scope from the engine
        f"count(*) FILTER (WHERE completed_at >= ? AND completed_at < ?) FROM actions WHERE {where}"
    )
    rows = common.snapshot_query(ctx, statement, [*bounds, *bounds, *params])
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def _check_row(ctx: ReportContext, action: ImprovementAction, start: Any) -> dict[str, Any]:
    locale = ctx.locale
    catalogue = common.catalogue()
    row: dict[str, Any] = {
        "number": action.number,
        "title": action.title,
        "checked_on": action.checked_at.astimezone(ctx.zone).date().isoformat() if action.checked_at else "",
        "in_period": action.checked_at is not None and action.checked_at >= start,
        "verdict": action.check_verdict or "",
        "verdict_label": vocabulary.label(
            {v: effectiveness.verdict_label(v) for v in vocabulary.VERDICTS}, action.check_verdict, locale
        ),
        "kpi": "",
        "before": "—",
        "after": "—",
        "n_before": "—",
        "n_after": "—",
        "p_value": "—",
        "test": "",
        "reason": "",
    }
    kpi = catalogue.get(action.kpi_code or "")
    row["kpi"] = kpi.name(locale) if kpi else (action.kpi_code or "")
    if isinstance(action.check_result, dict):
        try:
            result = effectiveness.EffectivenessResult.from_json(action.check_result)
        except (KeyError, TypeError, ValueError):
            return row
        shown = (lambda v: common.fmt(kpi, v, locale)) if kpi else (lambda v: "—" if v is None else f"{v:.2f}")
        p = result.p_value
        row |= {
            "before": shown(result.before.value),
            "after": shown(result.after.value),
            "n_before": common.count(result.before.n),
            "n_after": common.count(result.after.n),
            "p_value": "—" if p is None else (f"{p:.3g}" if p >= 0.001 else "< 0.001"),
            "test": translate(locale, effectiveness.test_label(result.test)),
            "reason": effectiveness.reason_text(result, locale),
        }
    return row


def build(ctx: ReportContext) -> Section | None:
    locale = ctx.locale
    phases = _phases(ctx)
    if not phases:
        return None  # no improvement action in this scope: no data
    opened, completed = _opened_completed(ctx)
    on_time_kpi = common.catalogue().get(ON_TIME)
    on_time = common.kpi_row(ctx, on_time_kpi) if on_time_kpi is not None else None
    data: dict[str, Any] = {
        "phases": [
            {"phase": phase, "label": translate(locale, vocabulary.PHASE_LABELS[phase]), "count": phases.get(phase, 0)}
            for phase in vocabulary.PHASES
        ],
        "total": sum(phases.values()),
        "opened": opened,
        "completed": completed,
        "on_time": on_time,
        "overdue": [],
        "checks": [],
        "lists": ctx.tenant_id is not None,
        "snapshot_at": common.snapshot_time(ctx),
    }
    if ctx.tenant_id is not None:
        overdue = actions_repository.open_overdue(ctx.session, ctx.tenant_id, ctx.now, vocabulary.OVERDUE_PHASES)
        overdue = sorted(overdue, key=lambda a: (a.due_at, a.number))[:OVERDUE]
        owners = auth_repository.usernames_by_id(ctx.session, {a.owner_user_id for a in overdue})
        data["overdue"] = [
            {
                "number": action.number,
                "title": action.title,
                "phase": translate(locale, vocabulary.PHASE_LABELS[action.phase]),
                "owner": owners.get(action.owner_user_id, ""),
                "due": action.due_at.astimezone(ctx.zone).date().isoformat(),
                "days": max(0, (ctx.now - action.due_at).days),
            }
            for action in overdue
        ]
        start, end = common.local_bounds(ctx)
        checked = ctx.session.execute(
            select(ImprovementAction)
            .where(
                ImprovementAction.tenant_id == ctx.tenant_id,
                ImprovementAction.checked_at.is_not(None),
                ImprovementAction.checked_at < end,
            )
            .order_by(ImprovementAction.checked_at.desc(), ImprovementAction.id.desc())
            .limit(CHECKS)
        ).scalars()
        data["checks"] = [_check_row(ctx, action, start) for action in checked]
    verdicts = {}
    where, params = common.scoped(ctx, "verdict IS NOT NULL")
    statement = f"SELECT verdict, count(*) FROM actions WHERE {where} GROUP BY verdict"  # noqa: S608
    for verdict, number in common.snapshot_query(ctx, statement, params):
        verdicts[str(verdict)] = int(number)
    data["verdicts"] = [
        {"verdict": v, "label": translate(locale, effectiveness.verdict_label(v)), "count": verdicts.get(v, 0)}
        for v in vocabulary.VERDICTS
        if verdicts.get(v)
    ]
    subsections = [("actions-phases", translate(locale, SUB_PHASES))]
    if data["lists"]:
        subsections += [
            ("actions-overdue", translate(locale, SUB_OVERDUE)),
            ("actions-checks", translate(locale, SUB_CHECKS)),
        ]
    return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data, subsections=subsections)


register("quality", 70, build)
