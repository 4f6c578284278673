"""The materials form of the claim page: staff set the claim type and facts (the materials profile) that
decide the checklist, so a claim in 待补材料 shows what is awaited to staff and claimant alike. A refusal
re-renders the claim page with the field named (422); success goes back to it with a confirmation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import pages as case_pages
from claimwatch.cases import service as cases_service
from claimwatch.cases.queries import claim_url
from claimwatch.errors import Forbidden
from claimwatch.materials import service
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

WriterDep = Annotated[Principal, Depends(require(Permission.EDIT_MATERIALS))]
MAX_FACTS = 50


@router.post("/claims/{number:path}/materials/profile")
def set_profile(
    number: str,
    request: Request,
    principal: WriterDep,
    session: TenantSession,
    claim_type: Annotated[str, Form(max_length=64)] = "",
    facts: Annotated[list[str] | None, Form()] = None,
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
) -> Response:
    """Set the claim's type and facts from its page (audited by the materials rules)."""
    if not csrf_valid(request, csrf_token_value):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    claim = cases_service.get_claim(session, number)  # unknown and another insurer's alike: 404
    chosen = [fact.strip()[:64] for fact in (facts or [])[:MAX_FACTS] if fact.strip()]
    problem: str | None = None
    if not claim_type.strip():
        problem = "claim_type"
    else:
        try:
            with session.begin_nested():
                service.set_profile(session, claim, claim_type.strip(), chosen, principal.actor)
        except service.MaterialsError as exc:
            problem = exc.field if exc.field in ("claim_type", "facts") else "line"
    if problem is None:
        return RedirectResponse(f"{claim_url(claim.number)}?materials=saved#materials", status_code=303)
    locale = request_locale(request)
    view = case_pages._claim_page(session, claim.number, locale, None)
    access_api.record_view(session, principal, [principal.tenant_id], access_service.CLAIM, claim.number, "claim_page")
    context = {
        "view": view,
        "may_edit_materials": True,
        "materials_error": problem,
        "materials_form": {"claim_type": claim_type.strip(), "facts": chosen},
    }
    return render(request, "claim.html", context, status_code=422, principal=principal, zone=view.time_zone)
