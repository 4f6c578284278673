"""A plan's results (抽检结果): the page /inspections/plans/{code}/results and its JSON twin
GET /api/v1/inspections/plans/{code}/estimate. The estimate of one draw (``?period=``, default the newest)
with its interval, the strata, what the sample can and cannot conclude, and a chart of the strata's error
rates with their intervals."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.inspections import estimates
from claimwatch.inspections import statistics as stats
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web.i18n import translate
from claimwatch.web.pages import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
api_router = APIRouter(prefix="/api/v1", tags=["inspections"])

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_INSPECTIONS))]
PeriodQuery = Query(default=None, max_length=16, description="the draw's period (default: the newest draw)")


def _chart(current: estimates.DrawEstimate | None, locale: str) -> str:
    """The strata's error rates (%) with their interval bars, and the estimate, for the page's ECharts."""
    if current is None:
        return "{}"
    est = current.estimate
    unstratified = "全部" if locale == "zh" else "All"

    def pct(value: float | None) -> float | None:
        return None if value is None else round(100.0 * value, 1)

    data = {
        "strata": [
            {
                "label": row.label or unstratified,
                "rate": pct(row.rate),
                "low": pct(row.low),
                "high": pct(row.high),
                "inspected": row.inspected,
                "errors": row.errors,
            }
            for row in current.strata
        ],
        "estimate": {"rate": pct(est.rate), "low": pct(est.low), "high": pct(est.high)},
        "target": round(100.0 * (1.0 - estimates.ACCURACY_TARGET), 1),
        "labels": {
            "rate": translate(locale, "Error rate"),
            "interval": translate(locale, "Interval"),
            "estimate": translate(locale, "Population estimate"),
            "limit": translate(locale, "Error allowance"),
            "inspected": translate(locale, "Inspected"),
            "errors": translate(locale, "Errors"),
        },
    }
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


@router.get("/inspections/plans/{code}/results")
def results_page(
    request: Request, code: str, principal: ViewerDep, session: TenantSession, period: str | None = PeriodQuery
) -> HTMLResponse:
    locale = request_locale(request)
    results = estimates.plan_results(session, code, period)
    sentences = []
    if results.current is not None:
        sentences = [(c.kind, stats.render(c, lambda m: translate(locale, m))) for c in results.current.conclusions]
    return render(
        request,
        "inspections/results_plan.html",
        {
            "results": results,
            "current": results.current,
            "sentences": sentences,
            "percent": stats.percent,
            "target": estimates.ACCURACY_TARGET,
            "chart_json": _chart(results.current, locale),
            "can_manage": principal.can(Permission.MANAGE_INSPECTION_PLANS),
        },
        principal=principal,
        zone=tenant_zone(session, principal.tenant_id),
    )


@api_router.get(
    "/inspections/plans/{code}/estimate",
    summary="A plan's estimate: error rate and accuracy with their interval, per stratum, and the conclusions",
)
def get_estimate(
    request: Request, code: str, principal: ViewerDep, session: TenantSession, period: str | None = PeriodQuery
) -> dict[str, Any]:
    locale = request_locale(request)
    results = estimates.plan_results(session, code, period)
    return estimates.as_json(results, lambda m: translate(locale, m))
