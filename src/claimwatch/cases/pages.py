"""The claims pages: the list (HTMX filters) and a claim with its timeline, SLA clocks, materials and
messages. Read models are in :mod:`claimwatch.cases.queries`; rendering is the web shell's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import queries
from claimwatch.cases.service import ClaimNotFound
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.materials import service as materials_service
from claimwatch.notify import service as notify_service
from claimwatch.providers import page_queries as providers_page_queries
from claimwatch.sla import queries as sla_queries
from claimwatch.tenancy import service as tenancy_service
from claimwatch.triage import page_queries as triage_page_queries
from claimwatch.web.i18n import translate
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
    """The filtered list; a malformed filter (a date, an amount, a range) is a 422 naming its field, in the
    reader's language, with the form kept and no rows."""
    query = queries.ListQuery.from_params(request.query_params)
    page = queries.claims_page(session, principal, query, request_locale(request), _regulator_view_of)
    status = 422 if page.problems else 200
    if not is_htmx(request):
        return render(
            request, "claims.html", {"view": page}, principal=principal, zone=page.time_zone, status_code=status
        )
    response = render(
        request, "claims_fragment.html", {"view": page}, principal=principal, zone=page.time_zone, status_code=status
    )
    response.headers["HX-Push-Url"] = query.url()  # the address bar shows the filters without empty ones
    return response


@router.get("/claims.csv")
def claims_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    """Exactly the rows the list with these filters matches, as CSV (BOM, headers in the reader's language,
    local times, personal data masked). Who exported what is recorded in the access log of each insurer."""
    query = queries.ListQuery.from_params(request.query_params)
    locale = request_locale(request)
    if query.problems:
        field_name, kind = query.problems[0]
        raise Invalid(field_name, translate(locale, queries.PROBLEM_MESSAGES[kind]))
    try:
        export = queries.export_csv(session, principal, query, locale, _regulator_view_of)
    except queries.ExportTooLarge as exc:
        message = translate(locale, queries.TOO_LARGE).format(total=exc.total, limit=queries.EXPORT_LIMIT)
        raise Invalid("filters", message) from None
    ref = f"claims.csv {query.url('', page=None, page_size=None).lstrip('?')}".strip()
    access_api.record_view(session, principal, export.tenant_ids, access_service.EXPORT, ref, "claims_export")
    return Response(
        export.body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="claims.csv"'},
    )


def _claim_page(
    session: Session,
    number: str,
    locale: str,
    tenant_code: str | None,
    with_risk: bool = False,
    may_send_tasks: bool = False,
) -> queries.ClaimView:
    """The claim with the panels of the domains that work it: SLA clocks, materials, messages, triage and risk
    (the score only ``with_risk``: for those who may see it), third-party tasks (the send form only
    ``may_send_tasks``; task links only for the insurer's own staff)."""
    claim, view = queries.claim_view(session, number, locale, tenant_code)
    materials = materials_service.materials_view(session, claim, locale)
    materials["received_at"] = materials_service.received_at(materials)
    # What the claim waits for, the same answer the claimant's lookup page gives.
    materials["awaited"] = materials_service.awaited(session, claim, locale)
    materials["profile_action"] = f"{queries.claim_url(claim.number)}/materials/profile"
    return dataclasses.replace(
        view,
        # The escalation history (raised, acknowledged by whom and when, closed) rides on the claim's dict.
        claim=view.claim
        | {
            "escalations": sla_queries.escalation_history(session, claim, locale),
            "triage": triage_page_queries.claim_panel(session, claim, locale, with_risk),
            "provider_tasks": providers_page_queries.claim_panel(
                session, claim, locale, may_send_tasks, links=tenant_code is None
            ),
            # Legal notices sent by post (保险法 art. 24 refusal notice): who, when, the tracking number.
            "posted_notices": notify_service.posted_for_claim(session, claim.id),
        },
        clocks=sla_queries.claim_clocks(session, claim, locale),
        materials=materials,
        messages=notify_service.messages_for_claim(session, claim.id, claim.written_since()),
    )


def _regulator_claim_page(
    session: Session, number: str, locale: str, tenant_code: str | None, with_risk: bool
) -> tuple[queries.ClaimView, int]:
    """The claim of the named insurer, or of whichever insurer has it, and that insurer's id."""
    tenants = tenancy_service.tenant_labels(session)
    if tenant_code is not None:
        tenants = [t for t in tenants if t.code == tenant_code]
    for tenant in tenants:
        with _regulator_view_of(tenant.id) as narrowed:
            try:
                return _claim_page(narrowed, number, locale, tenant.code, with_risk), tenant.id
            except ClaimNotFound:
                continue
    raise ClaimNotFound(f"no claim {number}")


@router.get("/claims/{number:path}")
def claim(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """A claim; the same 404 page whether it is unknown or someone else's."""
    locale = request_locale(request)
    tenant_id: int | None
    with_risk = principal.can(Permission.VIEW_RISK)
    if principal.is_regulator:
        tenant_code = request.query_params.get("tenant") or None
        view, tenant_id = _regulator_claim_page(session, number, locale, tenant_code, with_risk)
    else:
        may_send = principal.can(Permission.SEND_PROVIDER_TASKS)
        view, tenant_id = _claim_page(session, number, locale, None, with_risk, may_send), principal.tenant_id
    # Who saw the claimant's (masked) data: one row, in this transaction (a regulator's: in its own).
    access_api.record_view(session, principal, [tenant_id], access_service.CLAIM, view.claim["number"], "claim_page")
    context = {
        "view": view,
        # Staff who work claims set the claim type (materials profile) here; a regulator only reads.
        "may_edit_materials": principal.can(Permission.EDIT_MATERIALS) and not principal.is_regulator,
        "materials_saved": request.query_params.get("materials") == "saved",
    }
    return render(request, "claim.html", context, principal=principal, zone=view.time_zone)
