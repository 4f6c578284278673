"""The public disclosure pages (no account: like the claimant lookup, own layout, no script) and the quality
manager's publishing page and API.

Public: ``/disclosure`` (insurers and their published quarters), ``/disclosure/{tenant_code}/{quarter}`` (the
indicators with their definitions; one not disclosed shows 未披露 and why) and its ``.csv``. They read only
published, frozen rows (one indexed query), so they are not throttled; a reverse proxy may cache them.
Staff: ``/disclosure/publish`` (BUILD_REPORTS: this insurer's versions and the publish form) and
``POST /api/v1/disclosures``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Forbidden, Problem
from claimwatch.reports import disclosure, periods
from claimwatch.reports.disclosure_models import PublicDisclosure
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, add_page_headers, csrf_valid

public_router = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False, route_class=PageRoute)
api_router = APIRouter(prefix="/api/v1", tags=["reports"])

PublisherDep = Annotated[Principal, Depends(require(Permission.BUILD_REPORTS))]


def _not_found(request: Request) -> HTMLResponse:
    return render(request, "disclosure/not_found.html", {}, status_code=404, switch_path="/disclosure")


@router.get("/disclosure/publish")
def publish_page(request: Request, principal: PublisherDep, session: TenantSession) -> HTMLResponse:
    return _publish_page(request, session, principal)


def _publish_page(
    request: Request, session: Any, principal: Principal, problem: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "a disclosure is published by the insurer itself")
    tenant = tenancy_repository.tenant_by_id(session, principal.tenant_id)
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    rows = session.execute(
        select(PublicDisclosure).order_by(PublicDisclosure.quarter.desc(), PublicDisclosure.version.desc())
    ).scalars()
    last = periods.last_finished(utc_now().astimezone(zone).date(), "quarter")
    context = {
        "rows": [
            {
                "quarter": r.quarter,
                "version": r.version,
                "present": r.present,
                "required": r.required,
                "published_at": r.published_at,
                "published_by": r.published_by,
                "sha256": r.sha256,
                "url": disclosure.disclosure_url(tenant.code, disclosure.parse_quarter(r.quarter)) if tenant else "",
            }
            for r in rows
        ],
        "default_quarter": disclosure.compact(last),
        "problem": problem,
    }
    return render(
        request,
        "disclosure/publish.html",
        context,
        principal=principal,
        zone=zone,
        status_code=status,
        switch_path="/disclosure/publish",
    )


@router.post("/disclosure/publish")
def publish_post(
    request: Request,
    principal: PublisherDep,
    session: TenantSession,
    quarter: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    if not csrf_valid(request, csrf):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    if principal.tenant_id is None:
        raise Forbidden("tenant", "a disclosure is published by the insurer itself")
    try:
        with session.begin_nested():
            disclosure.publish(session, principal, tenant_id=principal.tenant_id, quarter=quarter)
    except Problem as exc:
        problem = {
            "field": exc.field,
            "message": translate(request_locale(request), _MESSAGES.get(exc.field, N_("Check this value."))),
            "detail": exc.message,
        }
        return _publish_page(request, session, principal, problem, exc.status)
    return RedirectResponse("/disclosure/publish", status_code=303)


_MESSAGES = {
    "quarter": N_("Give a finished quarter, like 2026Q3."),
    "snapshot": N_("The KPI figures are older than the end of this quarter: take a new snapshot first."),
}


@public_router.get("/disclosure")
def disclosure_index(request: Request) -> HTMLResponse:
    with unit_of_work(TenantContext.regulator()) as session:  # published rows of every insurer, read-only
        found = disclosure.insurers(session)
    return render(request, "disclosure/index.html", {"insurers": found})


def _find(request: Request, tenant_code: str, quarter: str) -> disclosure.DisclosureView | None:
    try:
        with unit_of_work(TenantContext.regulator()) as session:
            return disclosure.find(session, tenant_code, quarter, request_locale(request))
    except Problem:
        return None


@public_router.get("/disclosure/{tenant_code}/{quarter}.csv")
def disclosure_csv(request: Request, tenant_code: str, quarter: str) -> Response:
    locale = request_locale(request)
    try:
        with unit_of_work(TenantContext.regulator()) as session:
            found = disclosure.find(session, tenant_code, quarter, locale)
            text = disclosure.to_csv(session, found, locale)
    except Problem:
        return _not_found(request)
    name = f"disclosure-{found.tenant_code}-{found.quarter.replace('-', '')}.csv"
    response = Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return add_page_headers(response)


@public_router.get("/disclosure/{tenant_code}/{quarter}")
def disclosure_page(request: Request, tenant_code: str, quarter: str) -> HTMLResponse:
    found = _find(request, tenant_code, quarter)
    if found is None:
        return _not_found(request)
    csv_url = f"/disclosure/{found.tenant_code}/{found.quarter.replace('-', '')}.csv"
    return render(request, "disclosure/quarter.html", {"d": found, "csv_url": csv_url, "inline_css": None})


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quarter: str = Field(min_length=1, max_length=16, description="a finished quarter: 2026Q3 or 2026-Q3")


@api_router.post("/disclosures", status_code=201, summary="Publish this insurer's disclosure of a finished quarter")
def publish_api(body: PublishIn, session: TenantSession, principal: PublisherDep) -> dict[str, Any]:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "a disclosure is published by the insurer itself")
    row = disclosure.publish(session, principal, tenant_id=principal.tenant_id, quarter=body.quarter)
    tenant = tenancy_repository.tenant_by_id(session, principal.tenant_id)
    return {
        "quarter": row.quarter,
        "version": row.version,
        "required": row.required,
        "present": row.present,
        "sha256": row.sha256,
        "published_at": row.published_at.isoformat(),
        "indicators": row.indicators,
        "url": disclosure.disclosure_url(tenant.code, disclosure.parse_quarter(row.quarter)) if tenant else None,
    }
