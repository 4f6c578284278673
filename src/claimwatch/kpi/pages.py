"""The quality dashboard pages: /dashboard and its CSV export /dashboard.csv."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import current_principal, request_locale, tenant_session
from claimwatch.auth.principal import Principal
from claimwatch.kpi import dashboard, service
from claimwatch.web.pages import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _viewer(principal: Principal = Depends(current_principal)) -> Principal:
    if not service.may_view(principal):
        raise HTTPException(status_code=403, detail="may not view KPIs")  # PageRoute shows the 403 page
    return principal


ViewerDep = Annotated[Principal, Depends(_viewer)]
SessionDep = Annotated[Session, Depends(tenant_session)]


@router.get("/dashboard")
def dashboard_page(request: Request, principal: ViewerDep, session: SessionDep) -> HTMLResponse:
    query = dashboard.DashboardQuery.from_params(request.query_params)
    view = dashboard.build(session, principal, query, request_locale(request))
    return render(request, "dashboard.html", {"view": view}, principal=principal)


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, principal: ViewerDep) -> Response:
    query = dashboard.DashboardQuery.from_params(request.query_params)
    locale = request_locale(request)
    try:
        with service.opened() as snap:
            scope = service.scope_for(principal, snap.con, query.tenant, query.org, query.region, query.line)
            period = query.period or service.default_period(snap.local_now)
            by = query.by if query.by and (query.by != "tenant" or principal.tenant_id is None) else None
            rows = service.api_rows(snap, scope, period, None, locale)
            if by:
                rows += service.api_rows(snap, scope, period, by, locale)
    except service.NoSnapshot:
        raise HTTPException(status_code=404, detail="no snapshot yet") from None
    filename = f"kpi-{period.label}{'-' + by if by else ''}.csv"
    return Response(
        service.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
