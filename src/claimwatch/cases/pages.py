"""The claims pages: the list (HTMX filters) and a claim with its timeline, SLA clocks, materials and
messages. Read models are in :mod:`claimwatch.cases.queries`; rendering is the web shell's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import queries
from claimwatch.cases.service import ClaimNotFound
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials import service as materials_service
from claimwatch.notify import service as notify_service
from claimwatch.sla import queries as sla_queries
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.pages import PageRoute, is_htmx, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_CLAIMS))]


@contextmanager
def _regulator_view_of(tenant_id: int) -> Iterator[Session]:
    """A regulator's read-only session narrowed to one insurer. The one place these pages open a unit
    of work besides the request's: a regulator's list and claim page read several insurers, each in its
    own narrowed session so every row knows its insurer (claim numbers are unique per insurer only).
    Read-only, so it never commits anything."""
    with unit_of_work(TenantContext.regulator_of(tenant_id)) as session:
        yield session


@router.get("/claims")
def claims(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    query = queries.ListQuery.from_params(request.query_params)
    page = queries.claims_page(session, principal, query, request_locale(request), _regulator_view_of)
    if not is_htmx(request):
        return render(request, "claims.html", {"view": page}, principal=principal, zone=page.time_zone)
    response = render(request, "claims_fragment.html", {"view": page}, principal=principal, zone=page.time_zone)
    response.headers["HX-Push-Url"] = query.url()  # the address bar shows the filters without empty ones
    return response


def _claim_page(session: Session, number: str, locale: str, tenant_code: str | None) -> queries.ClaimView:
    """The claim with the panels of the domains that work it: SLA clocks, materials, messages."""
    claim, view = queries.claim_view(session, number, locale, tenant_code)
    materials = materials_service.materials_view(session, claim, locale)
    materials["received_at"] = materials_service.received_at(materials)
    return dataclasses.replace(
        view,
        clocks=sla_queries.claim_clocks(session, claim, locale),
        materials=materials,
        messages=notify_service.messages_for_claim(session, claim.id),
    )


def _regulator_claim_page(
    session: Session, number: str, locale: str, tenant_code: str | None
) -> tuple[queries.ClaimView, int]:
    """The claim of the named insurer, or of whichever insurer has it, and that insurer's id."""
    tenants = tenancy_service.tenant_labels(session)
    if tenant_code is not None:
        tenants = [t for t in tenants if t.code == tenant_code]
    for tenant in tenants:
        with _regulator_view_of(tenant.id) as narrowed:
            try:
                return _claim_page(narrowed, number, locale, tenant.code), tenant.id
            except ClaimNotFound:
                continue
    raise ClaimNotFound(f"no claim {number}")


@router.get("/claims/{number:path}")
def claim(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """A claim; the same 404 page whether it is unknown or someone else's."""
    locale = request_locale(request)
    tenant_id: int | None
    if principal.is_regulator:
        tenant_code = request.query_params.get("tenant") or None
        view, tenant_id = _regulator_claim_page(session, number, locale, tenant_code)
    else:
        view, tenant_id = _claim_page(session, number, locale, None), principal.tenant_id
    # Who saw the claimant's (masked) data: one row, in this transaction (a regulator's: in its own).
    access_api.record_view(session, principal, [tenant_id], access_service.CLAIM, view.claim["number"], "claim_page")
    return render(request, "claim.html", {"view": view}, principal=principal, zone=view.time_zone)
