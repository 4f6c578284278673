"""Quality report, regulator edition only: the insurers side by side (机构对比) — each insurer's key indicators
with the industry's value (every insurer together), its rank per indicator (1 = best, by the indicator's
better direction), and bar charts of the main ones. An insurer's own edition has no such section."""

from __future__ import annotations

from typing import Any

from claimwatch.reports import charts
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "insurers"
TITLE = N_("Insurers compared")
MSG_INDUSTRY = N_("Industry")
COMPARED = (
    "small_timeliness",
    "large_timeliness",
    "closure_rate",
    "cycle_time",
    "overdue_rate",
    "red_filings",
    "complaints_per_10k_claims",
    "complaint_on_time_rate",
    "satisfaction",
    "audit_accuracy",
)
CHARTED = ("small_timeliness", "closure_rate", "complaints_per_10k_claims", "satisfaction")


def build(ctx: ReportContext) -> Section | None:
    if ctx.tenant_id is not None:
        return None  # an insurer's edition: no comparison with the others
    locale = ctx.locale
    kpis = common.available(COMPARED)
    by_tenant = common.by_dimension(ctx, "tenant", [kpi.code for kpi in kpis])
    if not by_tenant:
        return None
    kpis = [kpi for kpi in kpis if any(kpi.code in found for found in by_tenant.values())]
    tenants = sorted(by_tenant, key=lambda key: common.unit_label(ctx, "tenant", key))
    ranks: dict[tuple[str, str], int] = {}
    for kpi in kpis:
        measured: list[tuple[float, str]] = [
            (number, t)
            for t in tenants
            if kpi.code in by_tenant[t] and (number := by_tenant[t][kpi.code].value) is not None
        ]
        measured.sort(key=lambda item: -item[0] if kpi.better == "higher" else item[0])
        rank = 0
        last: float | None = None
        for position, (number, tenant) in enumerate(measured, 1):
            if last is None or abs(number - last) > 1e-9:
                rank = position  # ties share a rank
            last = number
            ranks[(kpi.code, tenant)] = rank
    rows: list[dict[str, Any]] = []
    for tenant in tenants:
        cells = []
        for kpi in kpis:
            found = by_tenant[tenant].get(kpi.code)
            number = None if found is None else found.value
            cells.append(
                {
                    "display": common.fmt(kpi, number, locale),
                    "rank": ranks.get((kpi.code, tenant)),
                    "light": common.light_of(kpi, number),
                }
            )
        rows.append({"label": common.unit_label(ctx, "tenant", tenant), "cells": cells})
    industry = []
    for kpi in kpis:
        number = common.figure(ctx, kpi.code)
        industry.append({"display": common.fmt(kpi, number, locale), "light": common.light_of(kpi, number)})
    chart_svgs: dict[str, str] = {}
    for kpi in kpis:
        if kpi.code not in CHARTED:
            continue
        labels = [common.unit_label(ctx, "tenant", t).split(" · ")[0] for t in tenants]
        values = [by_tenant[t][kpi.code].value if kpi.code in by_tenant[t] else None for t in tenants]
        chart_svgs[kpi.code] = charts.bar_chart(
            labels,
            values,
            unit=kpi.unit,
            reference=common.figure(ctx, kpi.code),
            reference_label=translate(locale, MSG_INDUSTRY),
            highlight=[i for i, v in enumerate(values) if common.light_of(kpi, v) == "misses"],
            title=kpi.name(locale),
        )
    data = {
        "columns": [{"name": kpi.name(locale), "target": common.fmt_target(kpi, locale)} for kpi in kpis],
        "rows": rows,
        "industry": industry,
        "insurers": len(tenants),
    }
    return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data, chart_svgs)


register("quality", 15, build)
