"""The risk pages: the review queue (核查, /risk/review: high-risk claims with their reasons, score and model
version, waiting first) and one review (/risk/review/{id}) with the claim's red flags and top features and the
decision form; the decision, with its reason, is recorded by :func:`claimwatch.risk.review.decide` and becomes
the model's label. The model versions (/risk/models) and each one's model card (/risk/models/{version}). Read
models are in :mod:`claimwatch.risk.page_queries`."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid, Problem
from claimwatch.params import RowId
from claimwatch.risk import page_queries, review
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_RISK))]
ReviewerDep = Annotated[Principal, Depends(require(Permission.REVIEW_RISK))]
MAX_REASON = 2000
FIELD_LABELS: dict[str, str] = {"decision": N_("Outcome"), "reason": N_("Reason"), "status": N_("Status")}


def _error(request: Request, principal: Principal, status: int) -> HTMLResponse:
    switch = "/risk/review" if request.method == "POST" else None
    return render(
        request, "risk/error.html", {"status": status}, status_code=status, principal=principal, switch_path=switch
    )


@router.get("/risk/review")
def review_queue(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    status = request.query_params.get("status") or page_queries.OPEN
    if status not in page_queries.REVIEW_STATUSES:
        status = page_queries.OPEN
    context = {
        "queue": page_queries.review_queue(session, status, locale),
        "status_options": page_queries.status_options(locale),
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "risk/review.html", context, principal=principal, zone=zone)


def _review_page(
    request: Request,
    session: Session,
    principal: Principal,
    review_id: int,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    found = page_queries.review_detail(session, review_id, locale)
    if found is None:
        return _error(request, principal, 404)
    context = {
        "r": found,
        "problem": problem,
        "values": values or {},
        "field_labels": FIELD_LABELS,
        "decision_options": page_queries.decision_options(locale),
        "may_decide": principal.can(Permission.REVIEW_RISK) and found["may_be_decided"],
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    switch = found["url"] if request.method == "POST" else None
    return render(
        request,
        "risk/review_item.html",
        context,
        status_code=status_code,
        principal=principal,
        switch_path=switch,
        zone=zone,
    )


@router.get("/risk/review/{review_id}")
def review_page(review_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _review_page(request, session, principal, review_id)


@router.post("/risk/review/{review_id}/decide")
def review_decide(
    review_id: RowId, request: Request, principal: ReviewerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    raw_decision, raw_reason = form.get("decision"), form.get("reason")
    decision = raw_decision.strip()[:32] if isinstance(raw_decision, str) else ""
    reason = raw_reason.strip()[:MAX_REASON] if isinstance(raw_reason, str) else ""
    try:
        if decision not in page_queries.DECISIONS:
            raise Invalid("decision", "choose an outcome")
        if not reason:
            raise Invalid("reason", "reason is required")
        with session.begin_nested():
            review.decide(session, principal, review_id, decision, reason)
    except Problem as exc:
        if exc.status == 404:
            return _error(request, principal, 404)
        problem = forms.problem_for(request_locale(request), exc)
        values = {"decision": decision, "reason": reason}
        return _review_page(request, session, principal, review_id, exc.status, problem, values)
    return RedirectResponse(page_queries.review_url(review_id), status_code=303)


@router.get("/risk/models")
def model_list(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """The insurer's risk model versions: status (one active), training window, hold-out AUC and Brier score."""
    context = {"models": page_queries.model_list(session, request_locale(request))}
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "risk/models.html", context, principal=principal, zone=zone)


@router.get("/risk/models/{version}")
def model_card(version: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """One version's model card, with its calibration plot (ECharts) and table."""
    if principal.tenant_id is None:
        return _error(request, principal, 404)
    card = page_queries.model_card(session, principal.tenant_id, version, request_locale(request))
    if card is None:
        return _error(request, principal, 404)
    chart_json = json.dumps(card["chart"], ensure_ascii=False).replace("<", "\\u003c")
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "risk/model.html", {"m": card, "chart_json": chart_json}, principal=principal, zone=zone)
