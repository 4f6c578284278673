"""The 降赔惜赔 page (/risk/fairness): the handlers and org units whose rejection rate, short payments or
reductions after review are out of line with their peers on the same case mix, with the figures that flagged
them, the claims behind each flag and its targeted inspection; a quality manager runs a period and opens the
inspection from here.

Writes are CSRF-checked POSTs; a refusal comes back on the page naming the problem (nothing written), a
success is committed (by the request's unit of work) before the redirect."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Problem
from claimwatch.params import RowId
from claimwatch.risk import fairness, fairness_queries
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_RISK))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_INSPECTION_PLANS))]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]

REASON_LABELS = {
    "flagged": N_("Flagged"),
    "below_min_cases": N_("Too few claims to test"),
    "not_significant": N_("Not significant"),
    "small_effect": N_("Difference too small"),
    "below_threshold": N_("Below the threshold"),
    "no_peers": N_("No peers with the same case mix"),
}
UNIT_KIND_LABELS = {"handler": N_("Handler"), "org": N_("Org unit")}
MEASURE_LABELS = {code: N_(label) for code, label in fairness.MEASURE_LABELS.items()}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    period: str | None = None,
    everything: bool = False,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = fairness_queries.page(session, period, everything=everything)
    context: dict[str, Any] = {
        "found": found,
        "reason_labels": REASON_LABELS,
        "unit_kind_labels": UNIT_KIND_LABELS,
        "measure_labels": MEASURE_LABELS,
        "may_manage": principal.can(Permission.MANAGE_INSPECTION_PLANS),
        "problem": problem,
    }
    return render(
        request,
        "risk/fairness.html",
        context,
        principal=principal,
        zone=tenancy_service.tenant_zone(session, principal.tenant_id),
        status_code=status_code,
        switch_path="/risk/fairness" + (f"?period={found.period}" if found.period else ""),
    )


@router.get("/risk/fairness")
def fairness_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    period = request.query_params.get("period") or None
    return _page(request, session, principal, period=period, everything=request.query_params.get("all") == "1")


def _refused(request: Request, exc: Problem) -> str:
    locale = request_locale(request)
    message = translate(locale, N_("The request was refused: check the period and try again."))
    return f"{message} ({exc.message})" if locale == "en" else message


@router.post("/risk/fairness/run")
def fairness_run(
    request: Request,
    principal: ManagerDep,
    session: TenantSession,
    period: Annotated[str, Form(max_length=16)] = "",
    csrf: CsrfField = "",
) -> Response:
    if not csrf_valid(request, csrf):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    try:
        with session.begin_nested():
            summary = fairness.run_period(session, fairness.tenant_of(session), period, principal.actor)
    except Problem as exc:
        return _page(request, session, principal, problem=_refused(request, exc), status_code=exc.status)
    return RedirectResponse(f"/risk/fairness?period={summary.period}", status_code=303)


@router.post("/risk/fairness/{result_id}/plans")
def fairness_plans(
    request: Request, result_id: RowId, principal: ManagerDep, session: TenantSession, csrf: CsrfField = ""
) -> Response:
    if not csrf_valid(request, csrf):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    try:
        with session.begin_nested():
            codes = fairness.open_plans(session, principal, result_id)
    except Problem as exc:
        if exc.status == 404:
            raise
        locale = request_locale(request)
        message = translate(locale, N_("No targeted inspection could be opened for this flag."))
        text = f"{message} ({exc.message})" if locale == "en" else message
        return _page(request, session, principal, problem=text, status_code=exc.status)
    return RedirectResponse(f"/inspections/plans/{codes[0]}", status_code=303)
