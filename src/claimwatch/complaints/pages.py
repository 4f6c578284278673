"""The complaint screens: the queue by deadline (/complaints, HTMX filters), the staff intake form
(/complaints/new), a complaint with its clocks, history, messages, letter and action forms
(/complaints/{number}), and keyword trends (/complaints/keywords, JSON at /api/v1/complaints/keywords).

Routes stay thin: they read the request, call :mod:`claimwatch.complaints.screens` and the complaints
service, and render. Every action is a CSRF-checked POST that runs in its own transaction (committed
before the redirect, so the page that follows shows it); a refusal rolls back and comes back as the
complaint page with the field named.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from claimwatch.auth.deps import request_locale, require, tenant_session
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import importer, screens
from claimwatch.complaints import service as complaints_service
from claimwatch.db import unit_of_work
from claimwatch.web.pages import PageRoute, is_htmx, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)
api_router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_COMPLAINTS))]
HandlerDep = Annotated[Principal, Depends(require(Permission.HANDLE_COMPLAINTS))]
SessionDep = Annotated[Session, Depends(tenant_session)]

ACTIONS = frozenset(screens.ACTION_TITLES)


def _not_found(request: Request, principal: Principal, status_code: int = 404) -> HTMLResponse:
    switch = "/complaints" if request.method == "POST" else None
    context = {"status": status_code}
    return render(
        request, "complaints/error.html", context, status_code=status_code, principal=principal, switch_path=switch
    )


# -- the queue ---------------------------------------------------------------------------------------------


@router.get("/complaints")
def complaint_queue(request: Request, principal: ViewerDep, session: SessionDep) -> HTMLResponse:
    query = screens.QueueQuery.from_params(request.query_params)
    view = screens.queue_page(session, principal, query, request_locale(request))
    if not is_htmx(request):
        return render(request, "complaints/queue.html", {"view": view}, principal=principal)
    response = render(request, "complaints/queue_fragment.html", {"view": view}, principal=principal)
    response.headers["HX-Push-Url"] = query.url()  # the address bar shows the filters chosen
    return response


# -- intake ------------------------------------------------------------------------------------------------


@router.get("/complaints/new")
def intake_form(request: Request, principal: HandlerDep) -> HTMLResponse:
    context = screens.intake_context(screens.IntakeForm.blank(), {}, request_locale(request))
    return render(request, "complaints/new.html", context, principal=principal)


@router.get("/complaints/sub-causes")
def sub_causes(request: Request, principal: HandlerDep, category: str = "") -> HTMLResponse:
    """The sub-cause select for a category (the intake form swaps it in when the category changes)."""
    groups = screens.sub_cause_groups(category[:24], request_locale(request))
    context = {"sub_cause_groups": groups, "form": screens.IntakeForm(), "errors": {}}
    return render(request, "complaints/_sub_causes.html", context, principal=principal)


@router.post("/complaints/new")
async def intake(request: Request, principal: HandlerDep) -> Response:
    locale = request_locale(request)
    form_data = await request.form()
    form = screens.IntakeForm.from_form(form_data)
    token = form_data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        expired = {"form": screens.problem("form", "csrf")}
        context = screens.intake_context(form, expired, locale)
        return render(request, "complaints/new.html", context, status_code=403, principal=principal)
    errors: dict[str, dict[str, Any]] = {}
    status = 422
    try:
        data = form.to_schema()
        with unit_of_work(principal.context()) as session:
            complaint = complaints_service.create_complaint(session, principal, data)
            if form.complex:
                complaints_service.mark_complex(session, principal, complaint.number, form.value("complex_reason"))
            number = complaint.number
    except ValidationError as exc:
        errors = screens.validation_problems(exc)
    except screens.FormProblem as exc:
        errors = {exc.field: screens.problem(exc.field, exc.message, exc.hint)}
    except complaints_service.ComplaintError as exc:
        errors, status = {exc.field: screens.problem(exc.field, exc.message)}, exc.status
    else:
        return RedirectResponse(screens.complaint_url(number), status_code=303)
    context = screens.intake_context(form, errors, locale)
    return render(request, "complaints/new.html", context, status_code=status, principal=principal)


# -- CSV import (a regulator's 12378 transfer list) -------------------------------------------------------


def _import_page(request: Request, principal: Principal, status_code: int = 200, **context: Any) -> HTMLResponse:
    context = {
        "columns": [
            (name, aliases[1] if len(aliases) > 1 else name, name in importer.REQUIRED)
            for name, aliases in importer.HEADERS.items()
        ],
        "result": None,
        "rejects": [],
        "problem": None,
    } | context
    switch = "/complaints/import" if request.method == "POST" else None
    return render(
        request, "complaints/import.html", context, status_code=status_code, principal=principal, switch_path=switch
    )


@router.get("/complaints/import")
def import_form(request: Request, principal: HandlerDep) -> HTMLResponse:
    return _import_page(request, principal)


@router.post("/complaints/import")
async def import_upload(request: Request, principal: HandlerDep) -> HTMLResponse:
    """All or nothing, as the CLI and API: any bad row and nothing is recorded; the page lists each."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _import_page(request, principal, 403, problem="csrf")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _import_page(request, principal, 422, problem="no_file")
    content = await upload.read(importer.MAX_IMPORT_BYTES + 1)
    if len(content) > importer.MAX_IMPORT_BYTES:
        return _import_page(request, principal, 413, problem="too_big")
    dry_run = form.get("dry_run") == "1"
    try:
        with unit_of_work(principal.context()) as session:
            result = importer.import_csv(session, principal, content, dry_run=dry_run)
    except importer.ImportRejected as exc:
        return _import_page(request, principal, 422, rejects=exc.result.rejects, rows=exc.result.rows)
    except complaints_service.ComplaintError as exc:
        return _import_page(request, principal, exc.status, problem="refused", message=exc.message)
    return _import_page(request, principal, 200 if dry_run else 201, result=result)


# -- keyword trends ----------------------------------------------------------------------------------------


@router.get("/complaints/keywords")
def keyword_page(request: Request, principal: ViewerDep, session: SessionDep) -> HTMLResponse:
    query = screens.KeywordQuery.from_params(request.query_params)
    context, status = screens.keyword_context(session, principal, query, request_locale(request))
    return render(request, "complaints/keywords.html", context, status_code=status, principal=principal)


@api_router.get("/keywords", summary="Complaint keyword trends per month (and region, category)")
def keyword_api(request: Request, principal: ViewerDep, session: SessionDep) -> Any:
    """Top terms of complaint text per month with the share of complaints mentioning each and the change
    against the month before (rising first). Query: ``period_from``, ``period_to`` (YYYY-MM, default the
    last six months), ``region``, ``category``, ``top`` (1–100), and for regulators ``tenant``."""
    query = screens.KeywordQuery.from_params(request.query_params, "period_from", "period_to")
    try:
        return query.run(session, principal, request_locale(request))
    except complaints_service.ComplaintError as exc:
        problems = [{"field": exc.field, "message": exc.message}]
        return JSONResponse(status_code=exc.status, content={"detail": exc.message, "problems": problems})


# -- one complaint -----------------------------------------------------------------------------------------


def _page_response(
    request: Request, principal: Principal, page: screens.ComplaintPage, status_code: int = 200
) -> HTMLResponse:
    context = {
        "page": page,
        "view": {"messages": page.complaint["messages"]},
        "action_titles": screens.ACTION_TITLES,
        "field_labels": screens.FIELD_LABELS,
        "unit_labels": screens.UNIT_LABELS,
        "state_labels": screens.CLOCK_STATE_LABELS,
        "clock_outcome_labels": screens.CLOCK_OUTCOME_LABELS,
        "outcome_options": [
            (code, complaints_service.label(complaints_service.OUTCOME_LABELS, code, request_locale(request)))
            for code in complaints_service.OUTCOMES
        ],
        "review_options": [
            (code, complaints_service.label(complaints_service.REVIEW_OUTCOME_LABELS, code, request_locale(request)))
            for code in complaints_service.REVIEW_OUTCOMES
        ],
        "major_options": [
            (code, complaints_service.label(complaints_service.MAJOR_REASON_LABELS, code, request_locale(request)))
            for code in complaints_service.MAJOR_REASONS
        ],
    }
    switch = page.url if request.method == "POST" else None
    return render(
        request, "complaints/complaint.html", context, status_code=status_code, principal=principal, switch_path=switch
    )


@router.get("/complaints/{number}")
def complaint(number: str, request: Request, principal: ViewerDep, session: SessionDep) -> HTMLResponse:
    tenant_code = request.query_params.get("tenant") or None
    try:
        page = screens.complaint_page(session, principal, number, tenant_code, request_locale(request))
    except complaints_service.ComplaintError as exc:
        return _not_found(request, principal, 404 if exc.status == 404 else exc.status)
    return _page_response(request, principal, page)


@router.post("/complaints/{number}/actions/{action}")
async def complaint_action(number: str, action: str, request: Request, principal: HandlerDep) -> Response:
    if action not in ACTIONS:
        raise HTTPException(status_code=404, detail="no such action")
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return render(
            request,
            "complaints/error.html",
            {"status": 403},
            status_code=403,
            principal=principal,
            switch_path="/complaints",
        )
    values = screens.action_values(form)
    locale = request_locale(request)
    refused: dict[str, Any]
    try:
        with unit_of_work(principal.context()) as session:
            screens.run_action(session, principal, number, action, values)
    except ValidationError as exc:
        refused, status = next(iter(screens.validation_problems(exc).values())), 422
    except screens.FormProblem as exc:
        refused, status = screens.problem(exc.field, exc.message, exc.hint), 422
    except complaints_service.ComplaintError as exc:
        if exc.status == 404 and exc.field == "number":
            return _not_found(request, principal)
        refused, status = screens.problem(exc.field, exc.message), exc.status
    else:
        return RedirectResponse(screens.complaint_url(number), status_code=303)
    with unit_of_work(principal.context()) as session:
        try:
            page = screens.complaint_page(session, principal, number, None, locale)
        except complaints_service.ComplaintError:
            return _not_found(request, principal)
    page.problem = refused | {"action": action}
    page.values = values
    return _page_response(request, principal, page, status)
