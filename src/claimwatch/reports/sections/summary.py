"""Quality report: the one-page executive summary (执行摘要) — the headline KPIs against their targets, what
improved and what worsened against the previous period, and the open problems (red KPIs, alerts, overdue
rectifications and actions, major complaints)."""

from __future__ import annotations

from typing import Any

from claimwatch.rectification import vocabulary as rectification_vocabulary
from claimwatch.reports.sections import common
from claimwatch.reports.sections.alerts import alerts_of
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "summary"
TITLE = N_("Executive summary")
MOVERS = 4  # improved / worsened KPIs listed
PROBLEMS = {
    "red_kpis": N_("KPIs missing their target"),
    "alerts": N_("Alerts raised in the period"),
    "overdue_rectifications": N_("Overdue rectifications"),
    "overdue_actions": N_("Overdue improvement actions"),
    "major_complaints": N_("Major complaints received"),
}


def _relative(row: dict[str, Any], before: float | None) -> float:
    if row["value"] is None or before is None:
        return 0.0
    return abs(row["value"] - before) / max(abs(before), 1e-9)


def open_problems(ctx: ReportContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The counts the committee acts on; an item that has no source data yet is left out."""
    counts: dict[str, int | None] = {
        "red_kpis": sum(1 for row in rows if row["light"] == "misses"),
        "alerts": len(alerts_of(ctx)),
    }
    active = ", ".join(f"'{status}'" for status in rectification_vocabulary.ACTIVE)
    where, params = common.scoped(ctx, f"status IN ({active})", "plan_overdue OR acceptance_overdue")
    found = common.snapshot_query(ctx, f"SELECT count(*) FROM rectifications WHERE {where}", params)  # noqa: S608
    counts["overdue_rectifications"] = int(found[0][0]) if found else None
    where, params = common.scoped(ctx, "overdue")
    found = common.snapshot_query(ctx, f"SELECT count(*) FROM actions WHERE {where}", params)  # noqa: S608
    counts["overdue_actions"] = int(found[0][0]) if found else None
    received = common.catalogue().get("complaints_received")
    if received is not None and received.available:
        majors = common.grouped(ctx, received, (), numerator="count(*) FILTER (WHERE major)")
        counts["major_complaints"] = int(majors[0][1] or 0) if majors else 0
    return [
        {"key": key, "label": translate(ctx.locale, PROBLEMS[key]), "count": number}
        for key, number in counts.items()
        if number is not None
    ]


def build(ctx: ReportContext) -> Section | None:
    catalogue = common.catalogue()
    every = [kpi for kpi in catalogue.values() if kpi.available]
    rows = {kpi.code: common.kpi_row(ctx, kpi) for kpi in every}
    if not any(row["value"] is not None for row in rows.values()):
        return None  # nothing measured in the period: the report says so once, in the KPI section
    headline = [rows[code] for code in common.KEY_KPIS if code in rows]
    befores = {kpi.code: common.figure(ctx, kpi.code, "previous") for kpi in every}
    improved = [row for row in rows.values() if row["direction"] == "improved"]
    worsened = [row for row in rows.values() if row["direction"] == "worsened"]
    improved.sort(key=lambda row: -_relative(row, befores[row["code"]]))
    worsened.sort(key=lambda row: -_relative(row, befores[row["code"]]))
    with_target = [row for row in rows.values() if row["light"] != "none"]
    data = {
        "period": ctx.period.label,
        "previous": common.figures(ctx).periods["previous"].label,
        "headline": headline,
        "improved": improved[:MOVERS],
        "worsened": worsened[:MOVERS],
        "meets": sum(1 for row in with_target if row["light"] == "meets"),
        "near": sum(1 for row in with_target if row["light"] == "near"),
        "misses": sum(1 for row in with_target if row["light"] == "misses"),
        "with_target": len(with_target),
        "problems": open_problems(ctx, list(rows.values())),
        "snapshot_at": common.snapshot_time(ctx),
    }
    return Section(KEY, translate(ctx.locale, TITLE), f"{KEY}.html", data)


register("quality", 10, build)
