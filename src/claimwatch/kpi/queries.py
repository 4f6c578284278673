"""The dashboard's view model: targets vs actuals, 12-month trends, open clocks by light, drill-down, alerts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import get_settings
from claimwatch.inspections import special as special_inspections
from claimwatch.inspections import statistics as inspection_statistics
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import DIMENSIONS, END, BadPeriod, Period, Scope, _key_expr, _literal, _midnight
from claimwatch.kpi.loader import DrillPart, Kpi
from claimwatch.tenancy import repository as tenancy_repository

NEXT_DIMENSION = {"tenant": "org", "org": "region", "region": "line", "line": "org"}
CLAIMS_LIST = "/claims"
# Where a drill part's link leads (loader.DRILL_LISTS), and what its number counts there.
LIST_PATHS = {"claims": CLAIMS_LIST, "provider_tasks": "/provider-tasks"}
_LIST_COUNTS = {"claims": "count(DISTINCT claim_id)", "provider_tasks": "count(*)"}
# The claim list's parameter for one unit of each drill-table dimension (an org row is that unit exactly).
LIST_PARAM = {"tenant": "tenant", "org": "unit", "region": "region", "line": "line"}
_LIGHT_RANK = "max(CASE light WHEN 'red' THEN 2 WHEN 'yellow' THEN 1 ELSE 0 END)"


def _clean(value: str | None, max_length: int = 32) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:max_length] if value else None


@dataclass(frozen=True)
class DashboardQuery:
    period: Period | None = None
    by: str | None = None
    tenant: str | None = None
    org: int | None = None
    region: str | None = None
    line: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> DashboardQuery:
        """Unknown or malformed values are dropped, never an error page."""
        period = None
        if raw := _clean(params.get("period"), 8):
            try:
                period = Period.parse(raw)
            except BadPeriod:
                period = None
        by = _clean(params.get("by"))
        org_raw = _clean(params.get("org"), 18)
        return cls(
            period=period,
            by=by if by in DIMENSIONS else None,
            tenant=_clean(params.get("tenant")),
            org=int(org_raw) if org_raw and org_raw.isdigit() else None,
            region=_clean(params.get("region"), 12),
            line=_clean(params.get("line")),
        )

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "period": self.period.label if self.period else None,
            "by": self.by,
            "tenant": self.tenant,
            "org": self.org,
            "region": self.region,
            "line": self.line,
        } | changes
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def url(self, path: str = "/dashboard", **changes: Any) -> str:
        encoded = urlencode(self.params(**changes))
        return f"{path}?{encoded}" if encoded else path


def format_value(kpi: Kpi, value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    if kpi.unit == "%":
        return f"{value:.1f}%"
    if kpi.unit == "count":
        return f"{value:,.0f}"
    if kpi.unit == "days":
        return f"{value:.1f} 天" if locale == "zh" else f"{value:.1f} d"
    if kpi.unit == "per_10k":
        return f"{value:.2f} 件/万" if locale == "zh" else f"{value:.2f} per 10k"
    if kpi.unit == "per_100m_cny":
        return f"{value:.2f} 件/亿元" if locale == "zh" else f"{value:.2f} per 100M CNY"
    return f"{value:.1f}"


def format_target(kpi: Kpi, value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    sign = "≥ " if kpi.better == "higher" else "≤ "
    return sign + format_value(kpi, value, locale)


@dataclass(frozen=True)
class Link:
    """A number that leads to its records: ``count`` claims (or provider tasks: ``records``), listed at ``url``."""

    label: str
    count: int
    url: str
    records: str = "claims"  # claims | tasks


@dataclass
class Card:
    kpi: Kpi
    name: str
    definition: str
    owner: str
    value: float | None
    display: str
    target: str
    baseline: str
    light: str  # meets | near | misses | none
    count: str  # the volume behind the figure
    available: bool
    links: list[Link] = field(default_factory=list)  # the cases behind the numerator (and denominator)
    no_target: bool = False  # a figure without a target (shown so, not as "no data")
    interval: tuple[str, str] | None = None  # a sampled figure's confidence interval (audit accuracy)


@dataclass
class Crumb:
    label: str
    remove_url: str


@dataclass
class DrillRow:
    key: str
    label: str
    url: str
    cells: list[tuple[str, str, Link | None, float | None]]  # (display, light, numerator's cases, value) per KPI


@dataclass
class DashboardView:
    query: DashboardQuery
    period: Period
    periods: list[Period]
    period_options: list[Period]
    snapshot_at: dt.datetime | None
    cards: list[Card] = field(default_factory=list)
    lights: dict[str, int] = field(default_factory=dict)
    by: str = "org"
    dimension_options: list[str] = field(default_factory=list)
    table_kpis: list[Kpi] = field(default_factory=list)
    drill: list[DrillRow] = field(default_factory=list)
    crumbs: list[Crumb] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    show_tenant: bool = False
    tenant_options: list[tuple[str, str]] = field(default_factory=list)
    chart_json: str = "{}"
    light_links: dict[str, Link] = field(default_factory=dict)  # open claims by worst light
    tenant_codes: dict[str, str] = field(default_factory=dict)  # tenant id (as text) → code
    default_period: bool = False  # the period was not chosen: the last complete month
    benchmarks_url: str = ""  # by insurer: the regulator compares insurers on /benchmarks

    @property
    def csv_url(self) -> str:
        return self.query.url("/dashboard.csv", by=self.by)

    def by_url(self, dimension: str) -> str:
        return self.query.url(by=dimension)


def _dimensions(principal: Principal, query: DashboardQuery) -> list[str]:
    dims = ["org", "region", "line"]
    if principal.is_regulator and not query.tenant:
        dims.insert(0, "tenant")
    return dims


def build(session: Session, principal: Principal, query: DashboardQuery, locale: str) -> DashboardView:
    """Everything the page shows. Without a snapshot the page still renders, with no data."""
    settings = get_settings()
    dims = _dimensions(principal, query)
    by = query.by if query.by in dims else dims[0]
    if kpi_snapshot.current() is None:
        period = query.period or service.default_period().shift(-1)
        view = DashboardView(query, period, period.trailing(service.TREND_PERIODS), [], None, by=by)
        view.dimension_options = dims
        view.cards = [_card(kpi, None, locale) for kpi in kpi_loader.catalogue()]
        view.show_tenant = principal.is_regulator
        view.chart_json = json.dumps({"periods": [], "trend": [], "lights": {}, "labels": _chart_labels(locale)})
        return view
    with service.opened() as snap:
        # Opens on the last complete month: the running one is still filling up.
        period = query.period or last_complete_period(snap.local_now)
        periods = period.trailing(service.TREND_PERIODS if period.kind == "month" else 4)
        latest = service.default_period(snap.local_now)
        options = latest.trailing(24)[::-1]
        scope = service.scope_for(principal, snap.con, query.tenant, query.org, query.region, query.line)
        view = DashboardView(query, period, periods, options, snap.taken_at, by=by, dimension_options=dims)
        view.default_period = query.period is None
        view.show_tenant = principal.is_regulator
        if view.show_tenant:
            rows = service.tenant_rows(snap.con)
            view.tenant_options = [(code, f"{code} · {name}") for _, code, name in rows]
            view.tenant_codes = {str(tenant_id): code for tenant_id, code, _ in rows}
        kpis = service.available_kpis()
        trend = service.values(snap, scope, periods, kpis=kpis)
        totals = {(v.kpi, v.period): v for v in trend.values}
        for kpi in kpi_loader.catalogue():
            card = _card(kpi, totals.get((kpi.code, period.label)), locale)
            if kpi.drill and card.value is not None:
                card.links = drill_links(snap, query, scope, kpi, period, locale)
            if kpi.code in INTERVAL_KPIS and card.value is not None:
                estimate = accuracy_estimate(snap, scope, kpi, period)
                card.interval = interval_text(estimate)
                if estimate is not None:  # weighted cases are not a count: the cases inspected are
                    card.count = f"n = {estimate.inspected:,}"
            view.cards.append(card)
        view.lights = claim_lights(snap, scope)
        scope_params = _scope_params(query, scope)
        view.light_links = {
            light: Link(light, count, f"{CLAIMS_LIST}?{urlencode(scope_params | {'light': light})}")
            for light, count in view.lights.items()
        }
        view.table_kpis = kpis
        if by == "tenant":  # across insurers: /benchmarks (ranking, quartiles, box and funnel plots), no wide table
            view.benchmarks_url = "/benchmarks?" + urlencode({"period": period.label})
        else:
            _drill(view, snap, scope, kpis, locale)
        point_urls = {kpi.code: [_point_url(snap, query, scope, kpi, p) for p in periods] for kpi in kpis if kpi.drill}
        _crumbs(view, snap, locale)
        view.chart_json = json.dumps(
            {
                "periods": [p.label for p in periods],
                "trend": [
                    {
                        "code": kpi.code,
                        "name": kpi.name(locale),
                        "unit": kpi.unit,
                        "target": kpi.target,
                        "values": [
                            None
                            if (v := totals.get((kpi.code, p.label))) is None or v.value is None
                            else round(v.value, 2)
                            for p in periods
                        ],
                        # A point's click opens the claims behind its numerator in that month (none: no link).
                        "urls": point_urls.get(kpi.code, [None] * len(periods)),
                    }
                    for kpi in kpis
                ],
                "lights": view.lights,
                "light_urls": {light: link.url for light, link in view.light_links.items()},
                "labels": _chart_labels(locale),
            },
            ensure_ascii=False,
        ).replace("<", "\\u003c")  # safe inside <script type="application/json">
    lookback = period.trailing(settings.alert_lookback_months) if period.kind == "month" else [period]
    view.alerts = _alerts(session, principal, query, [p.label for p in lookback], locale)
    return view


# KPIs estimated from a sample: the card shows the estimate's interval as well.
INTERVAL_KPIS = frozenset({"audit_accuracy"})
INTERVAL_CONFIDENCE = 0.95


def accuracy_estimate(
    snap: service.OpenSnapshot, scope: Scope, kpi: Kpi, period: Period, confidence: float = INTERVAL_CONFIDENCE
) -> inspection_statistics.Estimate | None:
    """The stratified error-rate estimate behind an accuracy KPI over the snapshot's ``inspections``: one
    stratum per (draw, stratum) with the inspections of the period and scope, its population the sum of their
    weights (N_h, or its share when the stratum's inspections span periods), so the point estimate is the
    KPI's own ratio. None when nothing was inspected."""
    if kpi.source != "inspections" or kpi.period is None or kpi.period == END:
        return None
    where, params = scope.conditions()
    where += [f"{kpi.period} >= ?", f"{kpi.period} < ?"]
    params += [_midnight(period.start), _midnight(period.end)]
    if kpi.where:
        where.append(f"({kpi.where})")
    rows = snap.con.execute(
        "SELECT draw_id, stratum, count(*), count(*) FILTER (WHERE error), sum(weight) FROM inspections "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY draw_id, stratum ORDER BY draw_id, stratum",
        params,
    ).fetchall()
    strata = [
        inspection_statistics.StratumTally(f"{draw_id}:{stratum}", max(int(n), round(float(w))), int(n), int(e))
        for draw_id, stratum, n, e, w in rows
        if n
    ]
    if not strata:
        return None
    return inspection_statistics.stratified_estimate(strata, confidence)


def accuracy_interval(snap: service.OpenSnapshot, scope: Scope, kpi: Kpi, period: Period) -> tuple[str, str] | None:
    """The accuracy's interval as shown on its card (in %): (low, high)."""
    return interval_text(accuracy_estimate(snap, scope, kpi, period))


def interval_text(estimate: inspection_statistics.Estimate | None) -> tuple[str, str] | None:
    if estimate is None or estimate.accuracy_interval is None:
        return None
    low, high = estimate.accuracy_interval
    return f"{100 * low:.1f}%", f"{100 * high:.1f}%"


def last_complete_period(local_now: dt.datetime) -> Period:
    """The month before the one running at ``local_now`` (snapshot wall time): the dashboard's default."""
    return service.default_period(local_now).shift(-1)


def _point_url(snap: service.OpenSnapshot, query: DashboardQuery, scope: Scope, kpi: Kpi, period: Period) -> str | None:
    part = kpi.drill_part("numerator")
    if part is None:
        return None
    running = snap.local_now < _midnight(period.end)
    params = _scope_params(query, scope) | _list_params(kpi, part, period, running)
    return f"{LIST_PATHS[part.list_name]}?{urlencode(params)}"


def _chart_labels(locale: str) -> dict[str, str]:
    if locale == "zh":
        return {
            "green": "绿灯",
            "yellow": "黄灯",
            "red": "红灯",
            "target": "目标",
            "actual": "实际",
            "empty": "本期无数据",
            "no_target": "未设目标",
            "open_claims": "在途赔案",
        }
    return {
        "green": "Green",
        "yellow": "Yellow",
        "red": "Red",
        "target": "Target",
        "actual": "Actual",
        "empty": "No data in these months",
        "no_target": "No target set",
        "open_claims": "Open claims",
    }


def _card(kpi: Kpi, value: Any, locale: str) -> Card:
    figure = None if value is None else value.value
    if not kpi.available:
        count = ""
    elif value is None or value.denominator is None:
        count = ""
    else:
        count = (
            f"{value.numerator:,.0f} / {value.denominator:,.0f}" if kpi.unit == "%" else f"n = {value.denominator:,.0f}"
        )
    return Card(
        no_target=kpi.target is None,
        kpi=kpi,
        name=kpi.name(locale),
        definition=kpi.definition(locale),
        owner=kpi.owner(locale),
        value=figure,
        display=format_value(kpi, figure, locale),
        target=format_target(kpi, kpi.target, locale),
        baseline=format_value(kpi, kpi.baseline, locale) if kpi.baseline is not None else "—",
        light=kpi.light(figure) if kpi.available else "none",
        count=count,
        available=kpi.available,
    )


def _drill(view: DashboardView, snap: service.OpenSnapshot, scope: Scope, kpis: list[Kpi], locale: str) -> None:
    result = service.values(snap, scope, [view.period], (view.by,), kpis)
    labels = service.unit_labels(snap.con, view.by, locale)
    cells: dict[str, dict[str, Any]] = {}
    for value in result.values:
        cells.setdefault(value.key[0], {})[value.kpi] = value
    unassigned = "未指定" if locale == "zh" else "Unassigned"
    links = {kpi.code: _cell_links(snap, view, scope, kpi, list(cells), locale) for kpi in kpis if kpi.drill}
    for key in sorted(cells, key=lambda k: (k == "", labels.get(k, k))):
        if view.by == "tenant":
            code = labels.get(key, key).split(" · ")[0]
            url = view.query.url(tenant=code, by="org")
        elif key == "":
            url = ""
        else:
            url = view.query.url(**{view.by: key, "by": NEXT_DIMENSION[view.by]})
        row = DrillRow(key=key, label=labels.get(key, key) if key else unassigned, url=url, cells=[])
        for kpi in kpis:
            found = cells[key].get(kpi.code)
            figure = None if found is None else found.value
            link = links.get(kpi.code, {}).get(key) if figure is not None else None
            row.cells.append((format_value(kpi, figure, locale), kpi.light(figure), link, figure))
        view.drill.append(row)


# -- every number leads to its records ----------------------------------------------------------------------


def _list_params(kpi: Kpi, part: DrillPart, period: Period, running: bool) -> dict[str, str]:
    """The claim-list filters of a KPI's drill part for one period (``kpis.yaml``, ``drill:``)."""
    out: dict[str, str] = {}
    last_day = period.end - dt.timedelta(days=1)
    for name, value in part.filters:
        if name.endswith("_in"):
            out[f"{name[:-3]}_from"] = period.start.isoformat()
            out[f"{name[:-3]}_to"] = last_day.isoformat()
        elif name == "overdue_at":
            # The running period is measured now (the snapshot's now): overdue now, on the live list.
            out.update({"overdue": "1"} if running else {"overdue_at": period.end.isoformat()})
        elif name == "cycle_over" and value == "target":
            out["cycle_over"] = str(int(kpi.target or 0))
        else:
            out[name] = value
    return out


def _scope_params(query: DashboardQuery, scope: Scope) -> dict[str, str]:
    params: dict[str, str] = {}
    if query.tenant:
        params["tenant"] = query.tenant
    if scope.org_unit_id is not None:
        params["org"] = str(scope.org_unit_id)
    if scope.region:
        params["region"] = scope.region
    if scope.line:
        params["line"] = scope.line
    return params


def _rows_sql(expression: str, kpi: Kpi, end_literal: str) -> str:
    return expression.replace("{end}", end_literal).replace("{target}", str(int(kpi.target or 0)))


def case_counts(
    snap: service.OpenSnapshot, kpi: Kpi, part: DrillPart, scope: Scope, period: Period, by: str | None = None
) -> dict[str, int]:
    """How many distinct claims (provider tasks, for that list) a drill part selects in the snapshot, in total
    (key "") or per unit of ``by``: the number each link shows, which the list it opens counts again live."""
    assert kpi.period is not None
    where, params = scope.conditions()
    now = snap.local_now
    end = _midnight(period.end)
    moment = _literal(now if now < end else end)
    if kpi.period == END:
        pass  # the KPI's where carries {end}
    else:
        where += [f"{kpi.period} >= ?", f"{kpi.period} < ?"]
        params += [_midnight(period.start), end]
    if kpi.where:
        where.append(f"({_rows_sql(kpi.where, kpi, moment)})")
    if part.rows:
        where.append(f"({_rows_sql(part.rows, kpi, moment)})")
    key = _key_expr((by,))[0] if by else "''"
    rows = snap.con.execute(
        f"SELECT {key} AS k, {_LIST_COUNTS[part.list_name]} FROM {kpi.source} "  # noqa: S608 - catalogue text
        f"WHERE {' AND '.join(where) or 'true'} GROUP BY k",
        params,
    ).fetchall()
    return {str(k): int(n) for k, n in rows}


def drill_links(
    snap: service.OpenSnapshot, query: DashboardQuery, scope: Scope, kpi: Kpi, period: Period, locale: str
) -> list[Link]:
    """The links of a KPI's card: its numerator's (and denominator's) claims in the period and scope."""
    running = snap.local_now < _midnight(period.end)
    links = []
    for part in kpi.drill:
        count = case_counts(snap, kpi, part, scope, period).get("", 0)
        params = _scope_params(query, scope) | _list_params(kpi, part, period, running)
        url = f"{LIST_PATHS[part.list_name]}?{urlencode(params)}"
        links.append(Link(part.label(locale), count, url, _records(part)))
    return links


def _records(part: DrillPart) -> str:
    return "tasks" if part.list_name == "provider_tasks" else "claims"


def _cell_links(
    snap: service.OpenSnapshot, view: DashboardView, scope: Scope, kpi: Kpi, keys: list[str], locale: str
) -> dict[str, Link]:
    """Per unit of the drill table: the numerator's claims of that unit."""
    part = kpi.drill_part("numerator") if kpi.drill else None
    if part is None:
        return {}
    counts = case_counts(snap, kpi, part, scope, view.period, view.by)
    running = snap.local_now < _midnight(view.period.end)
    base = _scope_params(view.query, scope) | _list_params(kpi, part, view.period, running)
    links: dict[str, Link] = {}
    for key in keys:
        if key == "":
            continue  # claims without that dimension: the list has no "none" filter for it
        value = key
        if view.by == "tenant":
            value = view.tenant_codes.get(key, "")
            if not value:
                continue
        params = base | {LIST_PARAM[view.by]: value}
        url = f"{LIST_PATHS[part.list_name]}?{urlencode(params)}"
        links[key] = Link(part.label(locale), counts.get(key, 0), url, _records(part))
    return links


def claim_lights(snap: service.OpenSnapshot, scope: Scope) -> dict[str, int]:
    """Open claims by the worst light of their open SLA clocks, as of the snapshot (what the claim list's
    light filter selects)."""
    where, params = scope.conditions()
    where.append("stopped_at IS NULL AND state <> 'stopped'")
    rows = snap.con.execute(
        f"SELECT rank, count(*) FROM (SELECT claim_id, {_LIGHT_RANK} AS rank FROM clocks "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY claim_id) GROUP BY rank",
        params,
    ).fetchall()
    names = ("green", "yellow", "red")
    counts = dict.fromkeys(names, 0)
    for rank, count in rows:
        counts[names[int(rank)]] = int(count)
    return counts


def _crumbs(view: DashboardView, snap: service.OpenSnapshot, locale: str) -> None:
    query = view.query
    if query.tenant and view.show_tenant:
        view.crumbs.append(Crumb(query.tenant, query.url(tenant=None, org=None)))
    if query.org is not None:
        name = service.unit_labels(snap.con, "org", locale).get(str(query.org), str(query.org))
        view.crumbs.append(Crumb(name, query.url(org=None)))
    if query.region:
        name = service.unit_labels(snap.con, "region", locale).get(query.region, query.region)
        view.crumbs.append(Crumb(name, query.url(region=None)))
    if query.line:
        name = service.unit_labels(snap.con, "line", locale).get(query.line, query.line)
        view.crumbs.append(Crumb(name, query.url(line=None)))


def _alerts(
    session: Session, principal: Principal, query: DashboardQuery, periods: list[str], locale: str
) -> list[dict[str, Any]]:
    catalogue = kpi_loader.by_code()
    tenants: dict[int, str] = {}
    if principal.is_regulator:
        tenants = {t.id: t.code for t in tenancy_repository.all_tenants(session)}
    rows = []
    found = kpi_alerts.recent_alerts(session, periods)
    special = special_inspections.plans_for_alerts(session, [alert.id for alert in found])
    for alert in found:
        if tenants and query.tenant and tenants.get(alert.tenant_id) != query.tenant:
            continue
        kpi = catalogue.get(alert.kpi_code)
        limit = alert.upper_limit if kpi is None or kpi.better == "lower" else alert.lower_limit
        rows.append(
            {
                "id": alert.id,
                "tenant": tenants.get(alert.tenant_id, ""),
                "kpi": alert.kpi_code,
                "kpi_name": kpi.name(locale) if kpi else alert.kpi_code,
                "dimension": alert.dimension,
                "unit_key": alert.unit_key,
                "unit_label": alert.unit_label,
                "period": alert.period,
                "rate": f"{alert.rate:.1%}",
                "expected": f"{alert.expected:.1%}",
                "limit": f"{limit:.1%}",
                "count": alert.count,
                "created_at": alert.created_at,
                # Its special inspection (专项检查): the plan's code once opened, else whether this user may open one.
                "special_plan": special.get(alert.id),
                "can_open_special": alert.tenant_id == principal.tenant_id
                and principal.can(Permission.MANAGE_INSPECTION_PLANS),
            }
        )
    return rows
