"""The regulator's benchmarks between insurers (VIEW_BENCHMARKS), replacing the dashboard's wide by-insurer table.

``/benchmarks?kpi=&period=``: one KPI in one period (a month, a quarter, a year): every insurer against the
industry median and quartiles, a box plot and a funnel plot (the insurer's value against its volume, with the 95 %
and 99.8 % limits around the industry's pooled figure, :mod:`claimwatch.supervision.benchmarks`), a sortable
ranking table, and each insurer's trend over 12 periods with the median. ``.csv`` and ``.xlsx`` of the same.
``/benchmarks/insurers/{code}``: one insurer's profile on one page: every KPI against the industry median and
quartiles, its rating history (approved runs) and its whitelist standing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import NotFound
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import BadPeriod, Period
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.queries import format_target, format_value, last_complete_period
from claimwatch.supervision import benchmarks, whitelist
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_BENCHMARKS))]

DEFAULT_KPI = "small_timeliness"
TREND_PERIODS = 12
BAND_LABELS = {
    "top": N_("Top quarter"),
    "second": N_("Second quarter"),
    "third": N_("Third quarter"),
    "bottom": N_("Bottom quarter"),
}
FUNNEL_LABELS = {
    "within": N_("Within the limits (95%)"),
    "beyond_95": N_("Outside the limits (95%)"),
    "beyond_998": N_("Outside the limits (99.8%)"),
    "none": N_("No limits"),
}
DIRECTION_LABELS = {"better": N_("better"), "worse": N_("worse")}
CHART_LABELS = {
    "industry": N_("Industry"),
    "median": N_("Median"),
    "insurers": N_("Insurers"),
    "limit95": N_("Limits (95%)"),
    "limit998": N_("Limits (99.8%)"),
    "volume": N_("Volume"),
    "value": N_("Value"),
    "position": N_("Position among insurers (100 = best)"),
    "no_funnel": N_("A count has no funnel plot: there is no volume to scale its limits."),
    "empty": N_("No data in this period."),
}


def _period(raw: str | None, default: Period) -> Period:
    """A period from the query string (2026-11, 2026-Q3, 2026); anything else is the default, never an error."""
    if not raw:
        return default
    try:
        return Period.parse(raw.strip()[:8])
    except BadPeriod:
        return default


def period_options(latest: Period) -> list[str]:
    """The last 24 months, 8 quarters and (when the engine knows years) 3 years, newest first."""
    options = [p.label for p in latest.trailing(24)[::-1]]
    quarter = Period.containing(latest.start, "quarter")
    options += [p.label for p in quarter.trailing(8)[::-1]]
    for year in range(latest.start.year, latest.start.year - 3, -1):
        try:
            options.append(Period.parse(str(year)).label)
        except BadPeriod:
            break
    return options


def _kpi(raw: str | None, kpis: list[Kpi]) -> Kpi:
    by_code = {kpi.code: kpi for kpi in kpis}
    return by_code.get((raw or "")[:48]) or by_code.get(DEFAULT_KPI) or kpis[0]


def _tenants(session: Session) -> list[tuple[int, str, str]]:
    return tenancy_repository.tenant_codes_and_names(session)


@dataclass(frozen=True)
class Query:
    kpi: str | None
    period: str | None

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Query:
        return cls(params.get("kpi"), params.get("period"))


def _labels(locale: str) -> dict[str, dict[str, str]]:
    """The label tables, translated here (a "%" in a label is text, not a template placeholder)."""
    return {
        name: {key: translate(locale, label) for key, label in table.items()}
        for name, table in (
            ("band_labels", BAND_LABELS),
            ("funnel_labels", FUNNEL_LABELS),
            ("direction_labels", DIRECTION_LABELS),
        )
    }


def _fmt(kpi: Kpi, value: float | None, locale: str) -> str:
    return format_value(kpi, value, locale)


def _number(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def ranking_table(result: benchmarks.Benchmark, locale: str) -> tuple[list[str], list[list[Any]]]:
    """The ranking as a table (CSV and XLSX): one row per insurer, best first, no data last."""
    t = translate
    header = [
        t(locale, N_("Rank")),
        t(locale, N_("Insurer code")),
        t(locale, N_("Insurer")),
        t(locale, N_("Indicator")),
        t(locale, N_("Period")),
        t(locale, N_("Value")),
        t(locale, N_("Volume")),
        t(locale, N_("Industry median")),
        t(locale, N_("Lower quartile (Q1)")),
        t(locale, N_("Upper quartile (Q3)")),
        t(locale, N_("Industry (pooled)")),
        t(locale, N_("Difference from median")),
        t(locale, N_("Quartile band")),
        t(locale, N_("Funnel")),
    ]
    summary = result.summary
    rows = []
    for row in result.rows:
        funnel = t(locale, FUNNEL_LABELS[row.funnel])
        if row.direction:
            funnel += f" ({t(locale, DIRECTION_LABELS[row.direction])})"
        rows.append(
            [
                row.rank,
                row.code,
                row.name,
                result.kpi.name(locale),
                result.period.label,
                _number(row.value),
                _number(row.denominator),
                _number(summary.median) if summary else None,
                _number(summary.q1) if summary else None,
                _number(summary.q3) if summary else None,
                _number(result.industry),
                _number(row.vs_median),
                t(locale, BAND_LABELS[row.band]) if row.band else None,
                funnel,
            ]
        )
    return header, rows


def _chart_json(
    result: benchmarks.Benchmark, trend: benchmarks.Trend, tenants: list[tuple[int, str, str]], locale: str
) -> str:
    kpi = result.kpi
    period = result.period.label
    names = {tenant_id: (code, name) for tenant_id, code, name in tenants}
    data = {
        "kpi": {"code": kpi.code, "name": kpi.name(locale), "unit": kpi.unit, "better": kpi.better,
                "target": kpi.target},
        "period": period,
        "industry": _number(result.industry),
        "box": [round(v, 4) for v in result.summary.box()] if result.summary else None,
        "funnel": kpi.denominator is not None,
        "curve": result.curve,
        "insurers": [
            {
                "code": row.code,
                "name": row.name,
                "value": _number(row.value),
                "volume": _number(row.denominator),
                "funnel": row.funnel,
                "direction": row.direction,
                "url": f"/benchmarks/insurers/{row.code}?{urlencode({'period': period})}",
            }
            for row in result.rows
            if row.value is not None
        ],
        "trend": {
            "periods": trend.periods,
            "series": [
                {"code": names[tenant_id][0], "values": [_number(v) for v in values]}
                for tenant_id, values in trend.series.items()
                if tenant_id in names
            ],
            "median": [_number(v) for v in trend.median],
            "industry": [_number(v) for v in trend.industry],
        },
        "labels": {key: translate(locale, label) for key, label in CHART_LABELS.items()},
    }  # fmt: skip
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def _benchmark(
    session: Session, query: Query, locale: str
) -> tuple[dict[str, Any], benchmarks.Benchmark | None, benchmarks.Trend | None]:
    """Everything /benchmarks shows (and its downloads use), or an empty view when no snapshot was taken."""
    kpis = kpi_service.available_kpis()
    kpi = _kpi(query.kpi, kpis)
    tenants = _tenants(session)
    context: dict[str, Any] = {"kpis": kpis, "kpi": kpi, "tenants": tenants, "snapshot_at": None}
    if kpi_snapshot.current() is None:
        period = _period(query.period, kpi_service.default_period().shift(-1))
        context |= {"period": period, "period_options": period_options(period), "result": None}
        return context, None, None
    with kpi_service.opened() as snap:
        default = last_complete_period(snap.local_now)
        period = _period(query.period, default)
        result = benchmarks.benchmark(snap.con, kpi, period, snap.local_now, tenants)
        trend = benchmarks.trends(snap.con, kpi, period.trailing(TREND_PERIODS), snap.local_now, tenants)
        context |= {
            "period": period,
            "period_options": period_options(kpi_service.default_period(snap.local_now)),
            "snapshot_at": snap.taken_at,
            "result": result,
            "chart_json": _chart_json(result, trend, tenants, locale),
        }
    return context, result, trend


def _download_name(result: benchmarks.Benchmark, suffix: str) -> str:
    return f"benchmark-{result.kpi.code}-{result.period.label}.{suffix}"


@router.get("/benchmarks")
def benchmarks_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    query = Query.of(request.query_params)
    context, result, _ = _benchmark(session, query, locale)
    if result is not None:
        params = urlencode({"kpi": result.kpi.code, "period": result.period.label})
        context |= {"csv_url": f"/benchmarks.csv?{params}", "xlsx_url": f"/benchmarks.xlsx?{params}"}
    kpi = context["kpi"]
    context |= {
        "fmt": lambda value: _fmt(kpi, value, locale),
        "target": None if kpi.target is None else format_target(kpi, kpi.target, locale),
        **_labels(locale),
    }
    return render(request, "supervision/benchmarks.html", context, principal=principal)


@router.get("/benchmarks.csv")
def benchmarks_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    locale = request_locale(request)
    _, result, _ = _benchmark(session, Query.of(request.query_params), locale)
    if result is None:
        raise kpi_service.NoSnapshot()
    header, rows = ranking_table(result, locale)
    return Response(
        csv_text(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{_download_name(result, "csv")}"'},
    )


@router.get("/benchmarks.xlsx")
def benchmarks_xlsx(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    """The ranking, and the trend of every insurer (one row per insurer, one column per period)."""
    locale = request_locale(request)
    _, result, trend = _benchmark(session, Query.of(request.query_params), locale)
    if result is None or trend is None:
        raise kpi_service.NoSnapshot()
    header, rows = ranking_table(result, locale)
    codes = {tenant_id: code for tenant_id, code, _ in _tenants(session)}
    trend_rows: list[list[Any]] = [
        [codes.get(tenant_id, tenant_id), *(_number(v) for v in values)] for tenant_id, values in trend.series.items()
    ]
    trend_rows.append([translate(locale, N_("Median")), *(_number(v) for v in trend.median)])
    trend_rows.append([translate(locale, N_("Industry (pooled)")), *(_number(v) for v in trend.industry)])
    sheets = [
        (translate(locale, N_("Ranking")), header, rows),
        (translate(locale, N_("Trend")), [translate(locale, N_("Insurer code")), *trend.periods], trend_rows),
    ]
    return Response(
        xlsx_bytes(sheets),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{_download_name(result, "xlsx")}"'},
    )


# -- the insurer's profile -----------------------------------------------------------------------------------


@router.get("/benchmarks/insurers/{code}")
def insurer_profile(code: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    tenant = tenancy_repository.tenant_by_code(session, code[:32])
    if tenant is None:
        raise NotFound("code", f"no insurer {code[:32]!r}")
    tenants = _tenants(session)
    kpis = kpi_service.available_kpis()
    rows: list[benchmarks.ProfileRow] = []
    snapshot_at = None
    if kpi_snapshot.current() is None:
        period = _period(request.query_params.get("period"), kpi_service.default_period().shift(-1))
        options = period_options(period)
    else:
        with kpi_service.opened() as snap:
            period = _period(request.query_params.get("period"), last_complete_period(snap.local_now))
            options = period_options(kpi_service.default_period(snap.local_now))
            rows = benchmarks.profile(snap.con, tenant.id, kpis, period, snap.local_now, tenants)
            snapshot_at = snap.taken_at
    ratings = benchmarks.rating_history(session, tenant.id)
    standings = whitelist.history(session, tenant.id, locale, 12)
    chart = {
        "kpis": [
            {
                "code": row.kpi.code,
                "name": row.kpi.name(locale),
                # 100 = the best of its peers, 0 = the worst; 50 = the median position.
                "position": None
                if row.rank is None or row.peers < 2
                else round(100 * (row.peers - row.rank) / (row.peers - 1), 1),
                "url": f"/benchmarks?{urlencode({'kpi': row.kpi.code, 'period': period.label})}",
            }
            for row in rows
            if row.value is not None
        ],
        "ratings": {
            "periods": [p.period for p in ratings],
            "scores": [p.score for p in ratings],
            "grades": [p.grade for p in ratings],
        },
        "labels": {key: translate(locale, label) for key, label in CHART_LABELS.items()},
    }
    context = {
        "tenant": tenant,
        "period": period,
        "period_options": options,
        "rows": rows,
        "snapshot_at": snapshot_at,
        "ratings": ratings,
        "standings": standings,
        "fmt": lambda kpi, value: format_value(kpi, value, locale),
        **_labels(locale),
        "chart_json": json.dumps(chart, ensure_ascii=False).replace("<", "\\u003c"),
    }
    return render(request, "supervision/benchmarks_insurer.html", context, principal=principal)
