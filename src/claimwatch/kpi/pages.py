"""The quality dashboard pages: /dashboard and its CSV export /dashboard.csv."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.kpi import queries, service
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web.pages import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_KPIS))]  # PageRoute shows the 403 page


@router.get("/dashboard")
def dashboard_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    query = queries.DashboardQuery.from_params(request.query_params)
    view = queries.build(session, principal, query, request_locale(request))
    # The snapshot's time in the viewer's zone (a regulator's: the platform's).
    zone = tenant_zone(session, principal.tenant_id)
    return render(request, "dashboard.html", {"view": view}, principal=principal, zone=zone)


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, principal: ViewerDep) -> Response:
    query = queries.DashboardQuery.from_params(request.query_params)
    locale = request_locale(request)
    try:
        with service.opened() as snap:
            scope = service.scope_for(principal, snap.con, query.tenant, query.org, query.region, query.line)
            period = query.period or queries.last_complete_period(snap.local_now)
            by = query.by if query.by and (query.by != "tenant" or principal.tenant_id is None) else None
            rows = service.api_rows(snap, scope, period, None, locale)
            if by:
                rows += service.api_rows(snap, scope, period, by, locale)
    except service.NoSnapshot:
        raise HTTPException(status_code=404, detail="no snapshot yet") from None  # the page's 404, not JSON
    filename = f"kpi-{period.label}{'-' + by if by else ''}.csv"
    return Response(
        service.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
