"""Quality report: complaints (投诉) — volumes, rates per 10 000 claims and policies and per 100 M CNY premium,
on-time handling, major complaints, root causes by category and sub-cause with the change against the previous
period, the causes month by month, and the leading keywords (关键词) of the complainants' texts.

Volumes and rates are the catalogue's complaint KPIs; the causes are the rows of ``complaints_received`` grouped
by category and sub-cause; the keywords come from ``complaints.keywords.keyword_trends`` (the keyword page's)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import keywords as complaint_keywords
from claimwatch.complaints.vocabulary import category_label, sub_cause_label
from claimwatch.reports import charts
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate

KEY = "complaints"
TITLE = N_("Complaints")
SUB_VOLUMES = N_("Volumes and rates")
SUB_CAUSES = N_("Root causes")
SUB_KEYWORDS = N_("Keywords")
MSG_CAUSES_CHART = N_("Complaints by category, month by month")
VOLUME_KPIS = (
    "complaints_received",
    "complaints_per_10k_claims",
    "complaints_per_10k_policies",
    "complaints_per_100m_premium",
)
HANDLING_KPIS = ("complaint_on_time_rate", "complaint_first_contact_resolution", "repeat_complaint_rate")
RECEIVED = "complaints_received"
TOP_TERMS = 15
CHART_CATEGORIES = 6  # the largest categories get their own colour; the rest are "other"
MSG_OTHER = N_("Other")


def _reader(ctx: ReportContext) -> tuple[Principal, str | None]:
    """Who reads the keywords: a read-only cross-insurer reader narrowed to the report's insurer (the filter
    is then explicit in the query, whatever the session's context)."""
    principal = Principal(role=Role.REGULATOR, tenant_id=None, actor="system:reports")
    if ctx.tenant_id is None:
        return principal, None
    code = next((t.code for t in tenancy_service.tenant_labels(ctx.session) if t.id == ctx.tenant_id), None)
    return principal, code


def _keywords(ctx: ReportContext) -> list[dict[str, Any]]:
    """The period's leading terms with their change against the previous period (a quarter: its months
    summed, each month's top terms)."""
    principal, tenant = _reader(ctx)
    if ctx.tenant_id is not None and tenant is None:
        return []
    months = common.months_of(ctx.period)
    previous = common.months_of(ctx.period.shift(-1))
    span = months if ctx.period.kind == "month" else [*previous, *months]
    found = complaint_keywords.keyword_trends(
        ctx.session,
        principal,
        period_from=span[0],
        period_to=span[-1],
        top=complaint_keywords.MAX_TOP,
        tenant=tenant,
        locale=ctx.locale,
    )
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    complaints_now = complaints_before = 0
    for entry in found["periods"]:
        if entry["period"] not in months:
            continue
        complaints_now += entry["complaints"]
        if ctx.period.kind == "month":
            complaints_before += entry["previous_complaints"]
        for term in entry["terms"]:
            now[term["term"]] += term["complaints"]
            if ctx.period.kind == "month":
                before[term["term"]] += term["previous_complaints"]
    if ctx.period.kind != "month":
        for entry in found["periods"]:
            if entry["period"] in previous:
                complaints_before += entry["complaints"]
                for term in entry["terms"]:
                    before[term["term"]] += term["complaints"]
    rows = []
    for term, mentions in sorted(now.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]:
        share = mentions / complaints_now if complaints_now else 0.0
        previous_share = before[term] / complaints_before if complaints_before else 0.0
        change = share - previous_share
        trend = "rising" if change > 0 else "falling" if change < 0 else "steady"
        rows.append(
            {
                "term": term,
                "complaints": mentions,
                "share": f"{100 * share:.1f}%",
                "previous": before[term],
                "trend": trend if before[term] else "new",
            }
        )
    return rows


def _causes(ctx: ReportContext) -> list[dict[str, Any]]:
    kpi = common.catalogue()[RECEIVED]
    previous = common.figures(ctx).periods["previous"]
    before = {keys: n or 0 for keys, n, _, _ in common.grouped(ctx, kpi, ["category", "sub_cause"], period=previous)}
    now = {keys: n or 0 for keys, n, _, _ in common.grouped(ctx, kpi, ["category", "sub_cause"])}
    total = sum(now.values())
    rows = []
    for keys in sorted(set(now) | set(before), key=lambda k: (-now.get(k, 0), -before.get(k, 0), k)):
        category, sub_cause = keys
        count, earlier = int(now.get(keys, 0)), int(before.get(keys, 0))
        rows.append(
            {
                "category": category_label(category, ctx.locale) if category else "—",
                "sub_cause": sub_cause_label(category, sub_cause or None, ctx.locale) if sub_cause else "—",
                "complaints": count,
                "share": common.percent(count, total),
                "previous": earlier,
                "change": f"{count - earlier:+d}" if count != earlier else "±0",
                "direction": "worsened" if count > earlier else "improved" if count < earlier else "same",
            }
        )
    return rows


def _causes_chart(ctx: ReportContext) -> str | None:
    kpi = common.catalogue()[RECEIVED]
    trend = common.figures(ctx).trend
    rows = common.grouped(ctx, kpi, ["category", f"strftime({kpi.period}, '%Y-%m')"], period=trend[0], until=trend[-1])
    if not rows:
        return None
    months = [month.label for month in trend]
    totals: Counter[str] = Counter()
    for (category, _), n, _, _ in rows:
        totals[category] += int(n or 0)
    leading = [category for category, _ in totals.most_common(CHART_CATEGORIES)]
    other = translate(ctx.locale, MSG_OTHER)
    stacks: dict[str, list[float]] = {}
    for (category, month), n, _, _ in rows:
        name = category_label(category, ctx.locale) if category in leading and category else other
        series = stacks.setdefault(name, [0.0] * len(months))
        if month in months:
            series[months.index(month)] += float(n or 0)
    ordered = sorted(stacks.items(), key=lambda item: (item[0] == other, -sum(item[1])))
    return charts.stacked_bar_chart(months, ordered, title=translate(ctx.locale, MSG_CAUSES_CHART))


def build(ctx: ReportContext) -> Section | None:
    catalogue = common.catalogue()
    received = catalogue.get(RECEIVED)
    if received is None or not received.available:
        return None
    where, params = common.scoped(ctx)
    any_rows = common.snapshot_query(ctx, f"SELECT count(*) FROM complaints WHERE {where}", params)  # noqa: S608
    if not any_rows or not any_rows[0][0]:
        return None  # no complaint recorded in this scope at all: no data (the report does not print zeros)
    locale = ctx.locale
    volumes = [common.kpi_row(ctx, kpi) for kpi in common.available(VOLUME_KPIS)]
    handling = [common.kpi_row(ctx, kpi) for kpi in common.available(HANDLING_KPIS)]
    majors = common.grouped(ctx, received, (), numerator="count(*) FILTER (WHERE major)")
    previous = common.figures(ctx).periods["previous"]
    majors_before = common.grouped(ctx, received, (), period=previous, numerator="count(*) FILTER (WHERE major)")
    chart = _causes_chart(ctx)
    data = {
        "volumes": volumes,
        "handling": handling,
        "major": common.count(majors[0][1] if majors else 0),
        "major_previous": common.count(majors_before[0][1] if majors_before else 0),
        "causes": _causes(ctx),
        "keywords": _keywords(ctx),
        "previous": previous.label,
    }
    subsections = [
        ("complaints-volumes", translate(locale, SUB_VOLUMES)),
        ("complaints-causes", translate(locale, SUB_CAUSES)),
        ("complaints-keywords", translate(locale, SUB_KEYWORDS)),
    ]
    return Section(
        KEY, translate(locale, TITLE), f"{KEY}.html", data, {"causes": chart} if chart else {}, subsections=subsections
    )


register("quality", 40, build)
