"""The quality dashboard pages: /dashboard and its CSV export /dashboard.csv."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, NotFound, Problem
from claimwatch.inspections import special
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import queries, repository, service
from claimwatch.params import RowId
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web import forms
from claimwatch.web.pages import CSRF_FIELD, PageRoute, csrf_valid, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_KPIS))]  # PageRoute shows the 403 page
PlannerDep = Annotated[Principal, Depends(require(Permission.MANAGE_INSPECTION_PLANS))]


@router.get("/dashboard")
def dashboard_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _dashboard(request, principal, session)


def _dashboard(
    request: Request, principal: Principal, session: TenantSession, problem: Problem | None = None
) -> HTMLResponse:
    query = queries.DashboardQuery.from_params(request.query_params)
    view = queries.build(session, principal, query, request_locale(request))
    # The snapshot's time in the viewer's zone (a regulator's: the platform's).
    zone = tenant_zone(session, principal.tenant_id)
    context = {"view": view, "special_problem": problem}
    status = problem.status if problem else 200
    return render(request, "dashboard.html", context, principal=principal, zone=zone, status_code=status)


@router.post("/dashboard/alerts/{alert_id}/special-inspection")
def open_special_inspection(
    request: Request,
    alert_id: RowId,
    principal: PlannerDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    """One click on an alert: its special inspection (a plan on the alerted unit and month, drawn at once), or the
    one it already opened; then the plan's page. A refusal (nothing to inspect there) shows on the dashboard."""
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    alert = repository.alert_by_id(session, alert_id)
    if alert is None:
        raise NotFound("alert", f"no alert {alert_id}")
    ref = kpi_alerts.alert_ref(alert, kpi_loader.by_code().get(alert.kpi_code))
    try:
        with session.begin_nested():
            plan, _ = special.open_for_alert(session, principal, ref)
    except Problem as exc:
        return _dashboard(request, principal, session, exc)
    return RedirectResponse(f"/inspections/plans/{plan.code}", status_code=303)


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
