"""KPI API: values per period and dimension (JSON or CSV), the catalogue, and the statistical alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service
from claimwatch.kpi.engine import Period

router = APIRouter(prefix="/api/v1", tags=["kpi"])
PERIOD_PATTERN = r"^\s*\d{4}-(0[1-9]|1[0-2]|[Qq][1-4])\s*$"
viewer = require(Permission.VIEW_KPIS)


def _period(text: str | None) -> Period | None:
    return Period.parse(text) if text else None


@router.get("/kpi", summary="KPI values for a period (YYYY-MM or YYYY-Qn), optionally by org, region or line")
def get_kpis(
    request: Request,
    period: str | None = Query(
        None,
        max_length=8,
        description="2026-10 or 2026-Q4; default: the current month",
        # Documented, checked by Period.parse (a refusal names `period`).
        json_schema_extra={"pattern": PERIOD_PATTERN},
    ),
    by: str | None = Query(None, description="org | region | line (tenant: regulators)"),
    tenant: str | None = Query(None, max_length=32, description="insurer code (regulators only)"),
    org: int | None = Query(None, ge=1, description="org unit id: the unit and its subtree"),
    region: str | None = Query(None, max_length=12),
    line: str | None = Query(None, max_length=32),
    format: str = Query("json", pattern="^(json|csv)$"),
    principal: Principal = Depends(viewer),
) -> Any:
    chosen = _period(period)
    dimension = service.check_dimension(by)
    if dimension == "tenant" and principal.tenant_id is not None:
        raise Invalid("by", "by=tenant is for regulators")
    locale = request_locale(request)
    with service.opened() as snap:
        scope = service.scope_for(principal, snap.con, tenant, org, region, line)
        chosen = chosen or service.default_period(snap.local_now)
        rows = service.api_rows(snap, scope, chosen, dimension, locale)
        taken_at = snap.taken_at
    if format == "csv":
        filename = f"kpi-{chosen.label}{'-' + dimension if dimension else ''}.csv"
        return Response(
            service.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return {"period": chosen.label, "by": dimension, "snapshot_at": taken_at.isoformat(), "items": rows}


@router.get("/kpi/catalogue", summary="The KPI catalogue: definitions, formulas, units, baselines, targets")
def get_catalogue(request: Request, _: Principal = Depends(viewer)) -> list[dict[str, Any]]:
    locale = request_locale(request)
    return [
        {
            "code": kpi.code,
            "name": kpi.name(locale),
            "name_zh": kpi.name_zh,
            "name_en": kpi.name_en,
            "definition": kpi.definition(locale),
            "source": kpi.source,
            "period": kpi.period,
            "where": kpi.where,
            "numerator": kpi.numerator,
            "denominator": kpi.denominator,
            "unit": kpi.unit,
            "better": kpi.better,
            "baseline": kpi.baseline,
            "target": kpi.target,
            "owner": kpi.owner(locale),
            "alert": kpi.alert,
        }
        for kpi in kpi_loader.catalogue()
    ]


@router.get("/kpi/alerts", summary="Statistical alerts (p-chart) of the given months")
def get_alerts(
    session: TenantSession,
    period: list[str] = Query(default_factory=list, description="months, e.g. 2026-10; default: the last two"),
    _: Principal = Depends(viewer),
) -> list[dict[str, Any]]:
    periods = [p for p in (_period(text) for text in period) if p is not None]
    if not periods:
        periods = service.default_period().trailing(2)
    return [
        {
            "id": alert.id,
            "tenant_id": alert.tenant_id,
            "kpi": alert.kpi_code,
            "dimension": alert.dimension,
            "unit": alert.unit_key,
            "unit_label": alert.unit_label,
            "period": alert.period,
            "rate": alert.rate,
            "expected": alert.expected,
            "lower_limit": alert.lower_limit,
            "upper_limit": alert.upper_limit,
            "numerator": alert.numerator,
            "count": alert.count,
            "created_at": alert.created_at.isoformat(),
        }
        for alert in kpi_alerts.recent_alerts(session, [p.label for p in periods])
    ]
