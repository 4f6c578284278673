"""Quality report: SLA (时效) — the on-time rate of every SLA policy's clocks started in the period (the
timeliness KPIs' definition, per policy), the clocks still open at the period's end and how many of them were
already past their target (the overdue-rate KPI, per policy), and the red-light regulator filings (监管报备) made
in the period, by policy and by org unit."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.sla import loader as sla_loader
from claimwatch.web.i18n import N_, translate

KEY = "sla"
TITLE = N_("SLA and red filings")
SUB_POLICIES = N_("On time by SLA policy")
SUB_OPEN = N_("Open clocks at the end of the period")
SUB_FILINGS = N_("Red filings (监管报备)")
ON_TIME_KPI = "small_timeliness"  # its numerator/denominator define "on time" for every policy
OVERDUE_KPI = "overdue_rate"
FILINGS_KPI = "red_filings"


def _policy_names(locale: str) -> dict[str, str]:
    try:
        return {code: policy.label(locale) for code, policy in sla_loader.base_policies().items()}
    except Exception:  # noqa: BLE001 - a broken policy directory: the report shows the codes
        return {}


def build(ctx: ReportContext) -> Section | None:
    locale = ctx.locale
    catalogue = common.catalogue()
    names = _policy_names(locale)
    on_time_kpi, overdue_kpi, filings_kpi = (catalogue.get(c) for c in (ON_TIME_KPI, OVERDUE_KPI, FILINGS_KPI))
    policies: dict[str, dict[str, Any]] = {}
    if on_time_kpi is not None and on_time_kpi.available:
        # The KPI's own rows without its policy condition: every policy's clocks, grouped by policy.
        unfiltered = dataclasses.replace(on_time_kpi, where=None)
        previous = common.figures(ctx).periods["previous"]
        before = {keys[0]: v for keys, _, _, v in common.grouped(ctx, unfiltered, ["policy_code"], period=previous)}
        for keys, n, d, v in common.grouped(ctx, unfiltered, ["policy_code"]):
            policies[keys[0]] = {
                "code": keys[0],
                "name": names.get(keys[0], keys[0]),
                "met": common.count(n),
                "settled": common.count(d),
                "rate": common.fmt(on_time_kpi, v, locale),
                "previous": common.fmt(on_time_kpi, before.get(keys[0]), locale),
                "light": common.light_of(on_time_kpi, v),
                "light_label": common.light_label(locale, common.light_of(on_time_kpi, v), v),
            }
    open_rows: list[dict[str, Any]] = []
    open_total: dict[str, Any] | None = None
    if overdue_kpi is not None and overdue_kpi.available:
        for keys, n, d, v in sorted(common.grouped(ctx, overdue_kpi, ["policy_code"]), key=lambda r: r[0]):
            open_rows.append(
                {
                    "name": names.get(keys[0], keys[0]),
                    "open": common.count(d),
                    "overdue": common.count(n),
                    "within": common.count((d or 0) - (n or 0)),
                    "rate": common.fmt(overdue_kpi, v, locale),
                }
            )
        total = common.value(ctx, OVERDUE_KPI)
        if total is not None:
            light = common.light_of(overdue_kpi, total.value)
            open_total = {
                "open": common.count(total.denominator),
                "overdue": common.count(total.numerator),
                "within": common.count((total.denominator or 0) - (total.numerator or 0)),
                "rate": common.fmt(overdue_kpi, total.value, locale),
                "target": common.fmt_target(overdue_kpi, locale),
                "light": light,
                "light_label": common.light_label(locale, light, total.value),
            }
    filings: dict[str, Any] | None = None
    if filings_kpi is not None and filings_kpi.available:
        count = common.figure(ctx, FILINGS_KPI)
        by_policy = sorted(common.grouped(ctx, filings_kpi, ["policy_code"]), key=lambda r: (-(r[1] or 0), r[0]))
        by_unit = common.by_dimension(ctx, "org", [FILINGS_KPI])
        units = sorted(
            ((common.unit_label(ctx, "org", key), found[FILINGS_KPI].value or 0) for key, found in by_unit.items()),
            key=lambda item: (-item[1], item[0]),
        )
        filings = {
            "count": common.count(count),
            "previous": common.count(common.figure(ctx, FILINGS_KPI, "previous")),
            "last_year": common.count(common.figure(ctx, FILINGS_KPI, "last_year")),
            "light": common.light_of(filings_kpi, count),
            "light_label": common.light_label(locale, common.light_of(filings_kpi, count), count),
            "by_policy": [(names.get(keys[0], keys[0]), common.count(n)) for keys, n, _, _ in by_policy if n],
            "by_unit": [(label, common.count(n)) for label, n in units if n],
        }
    if not policies and open_total is None and (filings is None or filings["count"] == "0") and not open_rows:
        return None  # no clock started, none open, nothing filed: no SLA data in this scope
    data = {
        "policies": sorted(policies.values(), key=lambda row: row["code"]),
        "open_rows": open_rows,
        "open_total": open_total,
        "filings": filings,
        "last_day": (ctx.period.end - dt.timedelta(days=1)).isoformat(),
    }
    subsections = [
        ("sla-policies", translate(locale, SUB_POLICIES)),
        ("sla-open", translate(locale, SUB_OPEN)),
        ("sla-filings", translate(locale, SUB_FILINGS)),
    ]
    return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data, subsections=subsections)


register("quality", 30, build)
