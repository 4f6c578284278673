"""JSON API of the benchmarks (the regulator's) and of the whitelist (public, as its page is)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid, NotFound
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import Period
from claimwatch.kpi.queries import last_complete_period
from claimwatch.supervision import benchmarks, whitelist
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["supervision"])
ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_BENCHMARKS))]
TREND_PERIODS = 12


def _kpi(code: str) -> Any:
    found = {kpi.code: kpi for kpi in kpi_service.available_kpis()}.get(code)
    if found is None:
        raise Invalid("kpi", f"kpi {code!r} is not an available indicator of the catalogue")
    return found


def _row(row: benchmarks.Row) -> dict[str, Any]:
    return {
        "insurer": row.code,
        "name": row.name,
        "value": row.value,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "rank": row.rank,
        "quartile_band": row.band,
        "vs_median": row.vs_median,
        "funnel": row.funnel,
        "direction": row.direction,
    }


@router.get("/benchmarks")
def get_benchmark(
    principal: ViewerDep,
    session: TenantSession,
    kpi: Annotated[str, Query(max_length=48, description="a KPI code of the catalogue")],
    period: Annotated[
        str | None, Query(max_length=8, description="YYYY-MM or YYYY-Qn; default the last complete month")
    ] = None,
) -> dict[str, Any]:
    """Every insurer against the industry for one KPI and period: ranking, median and quartiles, the pooled
    industry figure, funnel limits, and the last 12 periods' trend."""
    indicator = _kpi(kpi)
    if kpi_snapshot.current() is None:
        raise kpi_service.NoSnapshot()
    tenants = tenancy_repository.tenant_codes_and_names(session)
    codes = {tenant_id: code for tenant_id, code, _ in tenants}
    with kpi_service.opened() as snap:
        chosen = Period.parse(period) if period else last_complete_period(snap.local_now)
        result = benchmarks.benchmark(snap.con, indicator, chosen, snap.local_now, tenants)
        trend = benchmarks.trends(snap.con, indicator, chosen.trailing(TREND_PERIODS), snap.local_now, tenants)
    summary = result.summary
    return {
        "kpi": indicator.code,
        "unit": indicator.unit,
        "better": indicator.better,
        "period": result.period.label,
        "industry": result.industry,
        "industry_volume": result.industry_volume,
        "summary": None
        if summary is None
        else {"n": summary.n, "min": summary.minimum, "median": summary.median, "max": summary.maximum,
              "mean": summary.mean, "q1": summary.q1, "q3": summary.q3},
        "insurers": [_row(row) for row in result.rows],
        "trend": {
            "periods": trend.periods,
            "insurers": {codes.get(tenant_id, str(tenant_id)): values for tenant_id, values in trend.series.items()},
            "median": trend.median,
            "industry": trend.industry,
        },
    }  # fmt: skip


def _standing(standing: whitelist.Standing) -> dict[str, Any]:
    return {
        "insurer": standing.code,
        "name": standing.name,
        "qualifies": standing.qualifies,
        "change": standing.change,
        "reason": standing.reason,
    }


def _whitelist(session: Session, month: str | None, locale: str) -> dict[str, Any]:
    months = whitelist.computed_months(session)
    if month is not None and month not in months:
        raise NotFound("month", f"no whitelist was computed for {month}")
    chosen = month or (months[0] if months else None)
    rule = whitelist.default_rule()
    return {
        "rule": {"code": rule.code, "version": rule.version, "sha256": rule.sha256, "text": rule.describe(locale)},
        "month": chosen,
        "months": months,
        "insurers": [_standing(s) for s in whitelist.statuses(session, chosen, locale)] if chosen else [],
        "changes": [_standing(s) | {"month": s.month} for s in whitelist.changes(session, chosen, 12, locale)]
        if chosen
        else [],
    }


@router.get("/public/whitelist")
def get_whitelist(
    locale: Annotated[str, Depends(request_locale)],
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
) -> dict[str, Any]:
    """The claim-service whitelist of a month (default the newest computed): who is on it and why, and the
    entries and exits of the last 12 months. Public, like the /whitelist page."""
    with unit_of_work(TenantContext.regulator()) as session:  # every insurer's computed standing, read-only
        return _whitelist(session, month, locale)
