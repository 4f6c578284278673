"""The rectification pages: the board (/rectifications: a filtered list by state with lights, overdue first,
owner and source link; cards on a phone), one rectification (/rectifications/{id}: source, owner, clocks with
local due dates and the 暂定 mark, timeline, the actions the caller may take, evidence per step).

Every action is a CSRF-checked POST whose write runs in a savepoint: a refusal rolls it back and the page
comes back with the field named; a success is committed before the redirect."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch import pdf
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Invalid, Problem
from claimwatch.materials import service as materials_service
from claimwatch.materials import storage
from claimwatch.params import RowId
from claimwatch.rectification import queries, repository, service
from claimwatch.rectification.vocabulary import STEP_LABELS, STEPS, TRANSITIONS
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web import labels as web_labels
from claimwatch.web.i18n import N_
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_RECTIFICATIONS))]
MAX_TEXT = 4000
FIELD_LABELS: dict[str, str] = {
    "plan": N_("Rectification plan"),
    "note": N_("Note"),
    "reason": N_("Reason"),
    "status": N_("Status"),
    "owner": N_("Owner"),
    "file": N_("File"),
    "step": N_("Step"),
    "form": N_("Form"),
}


def _error(request: Request, principal: Principal, status: int) -> HTMLResponse:
    switch = "/rectifications" if request.method == "POST" else None
    return render(
        request,
        "rectification/error.html",
        {"status": status},
        status_code=status,
        principal=principal,
        switch_path=switch,
    )


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "on")


@router.get("/rectifications")
def board_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    params = request.query_params
    query = queries.BoardQuery(
        status=(params.get("status") or "")[:32],
        severity=(params.get("severity") or "")[:8],
        overdue=_flag(params.get("overdue")),
        mine=_flag(params.get("mine")),
    )
    locale = request_locale(request)
    problem = None
    status = 200
    try:
        board = queries.board(session, principal, query, locale, utc_now())
    except Problem as exc:
        problem, status = forms.problem_for(locale, exc), exc.status
        board = queries.board(session, principal, queries.BoardQuery(), locale, utc_now())
    context = {
        "board": board,
        "problem": problem,
        "status_options": queries.status_options(locale),
        "severity_options": queries.severity_options(locale),
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "rectification/board.html", context, status_code=status, principal=principal, zone=zone)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    rectification_id: RowId,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    try:
        found = queries.detail(session, principal, rectification_id, locale, utc_now())
    except Problem as exc:
        return _error(request, principal, exc.status)
    context = {
        "r": found,
        "problem": problem,
        "values": values or {},
        "transitions": TRANSITIONS,
        "field_labels": FIELD_LABELS,
        "unit_labels": web_labels.UNIT_LABELS,
        "state_labels": web_labels.CLOCK_STATE_LABELS,
        "step_options": [(code, STEP_LABELS[code]) for code in STEPS],
    }
    switch = found["url"] if request.method == "POST" else None
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(
        request,
        "rectification/rectification.html",
        context,
        status_code=status_code,
        principal=principal,
        switch_path=switch,
        zone=zone,
    )


@router.get("/rectifications/{rectification_id}")
def rectification_page(
    rectification_id: RowId, request: Request, principal: ViewerDep, session: TenantSession
) -> HTMLResponse:
    return _page(request, session, principal, rectification_id)


def _text(form: FormData, name: str) -> str:
    raw = form.get(name)
    return raw.strip()[:MAX_TEXT] if isinstance(raw, str) else ""


@router.post("/rectifications/{rectification_id}/actions/{action}")
def rectification_action(
    rectification_id: RowId,
    action: str,
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    found = TRANSITIONS.get(action)
    if found is None:
        return _error(request, principal, 404)
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    field = found.text_field or "note"
    text = _text(form, field)
    locale = request_locale(request)
    try:
        if not text and not found.optional_text:
            raise Invalid(field, f"{field} is required")
        with session.begin_nested():
            service.transition(session, principal, rectification_id, action, text or None)
    except Problem as exc:
        if exc.status == 404:
            return _error(request, principal, 404)
        problem = forms.problem_for(locale, exc) | {"action": action, "field": exc.field}
        return _page(request, session, principal, rectification_id, exc.status, problem, {field: text})
    return RedirectResponse(service.rectification_url(rectification_id), status_code=303)


@router.post("/rectifications/{rectification_id}/evidence")
def evidence_upload(
    rectification_id: RowId,
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    locale = request_locale(request)
    upload = form.get("file")
    step = _text(form, "step") or None
    note = _text(form, "note")[:1000] or None
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise Invalid("file", "file is required")
        service.check_upload(session, principal, rectification_id, step)
        materials_service.check_content_type(upload.content_type)
        staged = materials_service.stage_upload(upload.file)
        try:
            with session.begin_nested():
                service.add_evidence(
                    session,
                    principal,
                    rectification_id,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    staged=staged,
                    step=step,
                    note=note,
                )
        finally:
            staged.discard()
    except Problem as exc:
        if exc.status == 404:
            return _error(request, principal, 404)
        problem = forms.problem_for(locale, exc) | {"action": "evidence", "field": exc.field}
        return _page(request, session, principal, rectification_id, exc.status, problem, {"note": note or ""})
    return RedirectResponse(f"{service.rectification_url(rectification_id)}#evidence", status_code=303)


@router.get("/rectifications/{rectification_id}/evidence/{evidence_id}")
def evidence_file(
    rectification_id: RowId, evidence_id: RowId, request: Request, principal: ViewerDep, session: TenantSession
) -> Response:
    try:
        rectification = service.get_visible(session, principal, rectification_id)
    except Problem:
        return _error(request, principal, 404)
    item = repository.evidence_item(session, rectification.id, evidence_id)
    path = storage.documents_root() / item.storage_path if item is not None else None
    if item is None or path is None or not path.exists():
        return _error(request, principal, 404)
    return FileResponse(
        path,
        media_type=item.content_type,
        headers={
            "Content-Disposition": pdf.content_disposition(item.filename),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
