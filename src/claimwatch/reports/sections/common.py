"""What the quality report's sections share: the KPI figures of the report's scope and period, computed once per
report by the KPI engine (the dashboard's definitions, never re-implemented), and their display.

Periods: the report's period, the one before it, the same period a year earlier, and the twelve months ending
with the period (the trend charts; a quarterly report shows its quarter's last twelve months too).

Counts by a column the engine does not group by (complaints by cause, clocks by SLA policy, rectifications by
status) come from :func:`grouped`, which runs a catalogue KPI's own source, period column, condition,
numerator and denominator with one more GROUP BY: the same rows the KPI counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi.engine import END, Period, Result, Value, _literal, _midnight, _period_end
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.queries import format_target, format_value
from claimwatch.reports.sections.base import ReportContext
from claimwatch.web.i18n import N_, translate

# The indicators a committee reads first: the executive summary's headline, the trend charts and the
# drill-down tables' columns (in this order; those not in the catalogue or pending are skipped).
KEY_KPIS = (
    "small_timeliness",
    "large_timeliness",
    "closure_rate",
    "cycle_time",
    "overdue_rate",
    "red_filings",
    "complaint_on_time_rate",
    "complaints_per_10k_claims",
    "audit_accuracy",
    "satisfaction",
    "action_on_time",
)
TREND_MONTHS = 12

LIGHT_LABELS = {
    "meets": N_("Meets target"),
    "near": N_("Near target"),
    "misses": N_("Misses target"),
    "none": N_("No target set"),
}
MSG_NO_DATA = N_("No data")
MSG_PENDING = N_("Data not yet collected")
MSG_POINTS = N_("%(value)s pp")


@dataclass
class Figures:
    """One report's KPI figures (cached on its context: every section reads the same numbers)."""

    periods: dict[str, Period]  # current, previous, last_year
    trend: list[Period]  # the twelve months ending with the period
    totals: Result  # every available KPI at current, previous, last_year (and the monthly trend for monthly reports)
    trend_values: Result
    by: dict[tuple[str, str], list[Value]] = field(default_factory=dict)  # (dimension, kpi) → values
    labels: dict[str, dict[str, str]] = field(default_factory=dict)


def catalogue() -> dict[str, Kpi]:
    return kpi_loader.by_code()


def available(codes: Iterable[str]) -> list[Kpi]:
    known = catalogue()
    return [known[code] for code in codes if code in known and known[code].available]


def figures(ctx: ReportContext) -> Figures:
    found = getattr(ctx, "_report_figures", None)
    if isinstance(found, Figures):
        return found
    period = ctx.period
    last_year = period.shift(-12 if period.kind == "month" else -4)
    trend_end = Period.containing(period.end - dt.timedelta(days=1), "month")
    trend = trend_end.trailing(TREND_MONTHS)
    kpis = kpi_service.available_kpis()
    if period.kind == "month":
        # One pass: the thirteen months from a year before to the period hold every figure shown.
        totals = kpi_service.values(ctx.snap, ctx.scope, period.trailing(13), kpis=kpis)
        trend_values = totals
    else:
        totals = kpi_service.values(ctx.snap, ctx.scope, [last_year, period.shift(-1), period], kpis=kpis)
        trend_values = kpi_service.values(ctx.snap, ctx.scope, trend, kpis=available(KEY_KPIS))
    found = Figures(
        periods={"current": period, "previous": period.shift(-1), "last_year": last_year},
        trend=trend,
        totals=totals,
        trend_values=trend_values,
    )
    setattr(ctx, "_report_figures", found)  # noqa: B010 - a per-report cache on the builder's context
    return found


def value(ctx: ReportContext, code: str, which: str = "current") -> Value | None:
    data = figures(ctx)
    return data.totals.get(code, data.periods[which].label)


def figure(ctx: ReportContext, code: str, which: str = "current") -> float | None:
    found = value(ctx, code, which)
    return None if found is None else found.value


def trend_series(ctx: ReportContext, code: str) -> list[float | None]:
    data = figures(ctx)
    out: list[float | None] = []
    for month in data.trend:
        found = data.trend_values.get(code, month.label)
        out.append(None if found is None else found.value)
    return out


def by_dimension(ctx: ReportContext, dimension: str, codes: Sequence[str]) -> dict[str, dict[str, Value]]:
    """The period's values of ``codes`` per unit of ``dimension`` (org | region | line | tenant): key → code →
    value. Units without data for a KPI lack it (no data, not zero)."""
    data = figures(ctx)
    missing = [kpi for kpi in available(codes) if (dimension, kpi.code) not in data.by]
    if missing:
        result = kpi_service.values(ctx.snap, ctx.scope, [ctx.period], (dimension,), missing)
        for kpi in missing:
            data.by[(dimension, kpi.code)] = [v for v in result.values if v.kpi == kpi.code]
    out: dict[str, dict[str, Value]] = {}
    for code in codes:
        for found in data.by.get((dimension, code), []):
            out.setdefault(found.key[0], {})[code] = found
    return out


def unit_labels(ctx: ReportContext, dimension: str) -> dict[str, str]:
    data = figures(ctx)
    if dimension not in data.labels:
        data.labels[dimension] = kpi_service.unit_labels(ctx.snap.con, dimension, ctx.locale)
    return data.labels[dimension]


def unit_label(ctx: ReportContext, dimension: str, key: str) -> str:
    if key == "":
        return "未指定" if ctx.locale == "zh" else "Unassigned"
    return unit_labels(ctx, dimension).get(key, key)


def grouped(
    ctx: ReportContext,
    kpi: Kpi,
    columns: Sequence[str],
    *,
    period: Period | None = None,
    until: Period | None = None,
    extra: str | None = None,
    numerator: str | None = None,
) -> list[tuple[tuple[str, ...], float | None, float | None, float | None]]:
    """A catalogue KPI's figures in the report's scope and a period (default: the report's; with ``until``,
    from ``period`` to the end of ``until``), grouped by ``columns`` (expressions over its source):
    [(keys, numerator, denominator, value)]. ``extra``: one more condition on the rows; ``numerator``:
    another aggregate over the same rows (e.g. ``count(*) FILTER (WHERE major)``)."""
    assert kpi.available and kpi.period is not None and kpi.numerator is not None
    period = period or ctx.period
    last = until or period
    where, params = ctx.scope.conditions()
    moment = _literal(_period_end(last, ctx.snap.local_now))
    if kpi.period != END:
        where += [f"{kpi.period} >= ?", f"{kpi.period} < ?"]
        params += [_midnight(period.start), _midnight(last.end)]
    for condition in (kpi.where, extra):
        if condition:
            where.append(f"({condition.replace('{end}', moment)})")
    keys = [f"coalesce(CAST({column} AS VARCHAR), '')" for column in columns]
    top = (numerator or kpi.numerator).replace("{end}", moment)
    bottom = (kpi.denominator or "NULL").replace("{end}", moment)
    select_keys = "".join(f"{key} AS k{i}, " for i, key in enumerate(keys))
    group = f" GROUP BY {', '.join(f'k{i}' for i in range(len(keys)))}" if keys else ""
    rows = ctx.snap.con.execute(
        f"SELECT {select_keys}{top} AS n, {bottom} AS d FROM {kpi.source} "  # noqa: S608 - catalogue text
        f"WHERE {' AND '.join(where) or 'true'}{group}",
        params,
    ).fetchall()
    out = []
    for row in rows:
        n = None if row[-2] is None else float(row[-2])
        d = None if row[-1] is None else float(row[-1])
        if kpi.denominator is not None and not d and numerator is None:
            continue  # nothing to measure in this group
        shown = kpi.value(n, d) if numerator is None else n
        out.append((tuple(str(k) for k in row[: len(keys)]), n, d, shown))
    return out


def scoped(ctx: ReportContext, *conditions: str) -> tuple[str, list[Any]]:
    """A WHERE clause (without the keyword) for a snapshot table in the report's scope, plus ``conditions``."""
    where, params = ctx.scope.conditions()
    return " AND ".join([*where, *(f"({c})" for c in conditions)]) or "true", list(params)


def period_params(period: Period) -> list[dt.datetime]:
    """The snapshot's wall-time bounds of a period, for ``column >= ? AND column < ?``."""
    return [_midnight(period.start), _midnight(period.end)]


def snapshot_query(ctx: ReportContext, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a query over the snapshot; none when the snapshot predates the table (taken before it existed)."""
    try:
        return list(ctx.snap.con.execute(sql, list(params)).fetchall())
    except duckdb.CatalogException:
        return []


# -- display --------------------------------------------------------------------------------------------------


def fmt(kpi: Kpi, number: float | None, locale: str) -> str:
    return format_value(kpi, number, locale)


def fmt_target(kpi: Kpi, locale: str) -> str:
    return format_target(kpi, kpi.target, locale)


def count(number: float | int | None) -> str:
    return "—" if number is None else f"{number:,.0f}"


def percent(part: float | int | None, whole: float | int | None) -> str:
    if part is None or not whole:
        return "—"
    return f"{100.0 * float(part) / float(whole):.1f}%"


def light_of(kpi: Kpi, number: float | None) -> str:
    return kpi.light(number) if kpi.available else "none"


def light_label(locale: str, light: str, number: float | None, kpi: Kpi | None = None) -> str:
    if kpi is not None and not kpi.available:
        return translate(locale, MSG_PENDING)
    if number is None:
        return translate(locale, MSG_NO_DATA)
    return translate(locale, LIGHT_LABELS.get(light, LIGHT_LABELS["none"]))


def direction(kpi: Kpi, now: float | None, before: float | None) -> str:
    """improved | worsened | same | none (a side without data)."""
    if now is None or before is None:
        return "none"
    delta = now - before
    if abs(delta) < 1e-9:
        return "same"
    return "improved" if (delta > 0) == (kpi.better == "higher") else "worsened"


def change(kpi: Kpi, now: float | None, before: float | None, locale: str) -> str:
    """The change as shown: +1.2 个百分点 for rates, +0.3 天, +4 for counts; — without both sides."""
    if now is None or before is None:
        return "—"
    delta = now - before
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    if kpi.unit == "%":
        return sign + translate(locale, MSG_POINTS) % {"value": f"{abs(delta):.1f}"}
    return sign + format_value(kpi, abs(delta), locale)


def kpi_row(ctx: ReportContext, kpi: Kpi) -> dict[str, Any]:
    """One KPI as the report's tables show it: actual, target, previous period, same period last year, light,
    change against the previous period and its direction."""
    now = figure(ctx, kpi.code) if kpi.available else None
    before = figure(ctx, kpi.code, "previous") if kpi.available else None
    year_ago = figure(ctx, kpi.code, "last_year") if kpi.available else None
    light = light_of(kpi, now)
    found = value(ctx, kpi.code) if kpi.available else None
    basis = ""
    if found is not None and found.denominator is not None and kpi.unit == "%":
        basis = f"{found.numerator:,.0f} / {found.denominator:,.0f}"
    elif found is not None and found.denominator is not None:
        basis = f"n = {found.denominator:,.0f}"
    return {
        "code": kpi.code,
        "name": kpi.name(ctx.locale),
        "definition": kpi.definition(ctx.locale),
        "unit": kpi.unit,
        "value": now,
        "actual": fmt(kpi, now, ctx.locale),
        "target": fmt_target(kpi, ctx.locale),
        "previous": fmt(kpi, before, ctx.locale),
        "last_year": fmt(kpi, year_ago, ctx.locale),
        "change": change(kpi, now, before, ctx.locale),
        "direction": direction(kpi, now, before),
        "light": light if now is not None else "none",
        "light_label": light_label(ctx.locale, light, now, kpi),
        "basis": basis,
        "available": kpi.available,
    }


def local_bounds(ctx: ReportContext, period: Period | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The period's first and last instants (exclusive) in UTC, from the tenant's local midnights."""
    period = period or ctx.period
    start = dt.datetime.combine(period.start, dt.time(), ctx.zone).astimezone(dt.UTC)
    end = dt.datetime.combine(period.end, dt.time(), ctx.zone).astimezone(dt.UTC)
    return start, end


def months_of(period: Period) -> list[str]:
    """The month labels (YYYY-MM) a period covers."""
    first = Period(period.start, "month")
    return [first.shift(i).label for i in range(period.months)]


def snapshot_time(ctx: ReportContext) -> str:
    return ctx.snap.taken_at.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M")
