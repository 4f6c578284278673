"""Quality report: every catalogue KPI (指标) — target, actual, previous period, same period last year, light —
the twelve-month trends of the key ones with their targets, and drill-down tables by org unit, region and line
for the period. The figures are the dashboard's (``kpi.service.values``)."""

from __future__ import annotations

from typing import Any

from claimwatch.reports import charts
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "kpis"
TITLE = N_("Indicators against targets")
SUB_OVERVIEW = N_("All indicators")
SUB_TRENDS = N_("Twelve-month trends")
SUB_BY = {"org": N_("By org unit"), "region": N_("By region"), "line": N_("By line of business")}
MSG_TARGET = N_("Target")
MSG_ACTUAL = N_("Actual")
DRILL_COLUMNS = 7  # key KPIs per drill-down table (a wider table does not fit an A4 page)


def _drill(ctx: ReportContext, dimension: str, codes: list[str]) -> list[dict[str, Any]]:
    catalogue = common.catalogue()
    values = common.by_dimension(ctx, dimension, codes)
    rows = []
    for key in sorted(values, key=lambda k: (k == "", common.unit_label(ctx, dimension, k))):
        cells = []
        for code in codes:
            kpi = catalogue[code]
            found = values[key].get(code)
            number = None if found is None else found.value
            cells.append({"display": common.fmt(kpi, number, ctx.locale), "light": common.light_of(kpi, number)})
        rows.append({"label": common.unit_label(ctx, dimension, key), "cells": cells})
    return rows


def build(ctx: ReportContext) -> Section | None:
    locale = ctx.locale
    catalogue = common.catalogue()
    rows = [common.kpi_row(ctx, kpi) for kpi in catalogue.values()]
    if not any(row["value"] is not None for row in rows):
        data: dict[str, Any] = {"empty": True, "rows": rows}
        return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data)
    figures = common.figures(ctx)
    months = [month.label for month in figures.trend]
    chart_svgs: dict[str, str] = {}
    trends = []
    for kpi in common.available(common.KEY_KPIS):
        series = common.trend_series(ctx, kpi.code)
        if all(point is None for point in series):
            continue
        chart_svgs[kpi.code] = charts.line_chart(
            months,
            [(translate(locale, MSG_ACTUAL), series)],
            unit=kpi.unit,
            target=kpi.target,
            target_label=translate(locale, MSG_TARGET),
            title=kpi.name(locale),
            compact=True,
        )
        trends.append({"code": kpi.code, "name": kpi.name(locale), "definition": kpi.definition(locale)})
    with_data = [row["code"] for row in rows if row["code"] in common.KEY_KPIS and row["value"] is not None]
    columns = with_data[:DRILL_COLUMNS]
    drills = [
        {
            "dimension": dimension,
            "anchor": f"kpis-by-{dimension}",
            "title": translate(locale, SUB_BY[dimension]),
            "columns": [catalogue[code].name(locale) for code in columns],
            "rows": _drill(ctx, dimension, columns),
        }
        # The regulator edition compares insurers (its own section): org units of different insurers in one
        # table would mix names, so it drills by region and line only.
        for dimension in (("org", "region", "line") if ctx.tenant_id is not None else ("region", "line"))
    ]
    data = {
        "empty": False,
        "rows": rows,
        "trends": trends,
        "months": months,
        "drills": [drill for drill in drills if drill["rows"]],
        "previous": figures.periods["previous"].label,
        "last_year": figures.periods["last_year"].label,
    }
    subsections = [("kpis-overview", translate(locale, SUB_OVERVIEW))]
    if trends:
        subsections.append(("kpis-trends", translate(locale, SUB_TRENDS)))
    subsections += [(drill["anchor"], drill["title"]) for drill in data["drills"]]
    return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data, chart_svgs, subsections=subsections)


register("quality", 20, build)
