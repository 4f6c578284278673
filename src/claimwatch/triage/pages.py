"""The triage pages: rule-set versions with the monitor-mode comparison (/triage/rules: would-be decisions of
a version against the claims' actual routes over a period, per rule and as a route matrix; switching the
version in force between monitor and active) and catastrophe events (/triage/catastrophes: the list, the
declaration form, and one event's claims, open, overdue and paid by region).

The claim page's triage and risk panel is :func:`claimwatch.triage.page_queries.claim_panel`, shown by
``cases.pages``. Every write is a CSRF-checked POST in a savepoint: a refusal rolls it back and the page comes
back with the field named."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid, Problem
from claimwatch.params import RowId
from claimwatch.tenancy import service as tenancy_service
from claimwatch.triage import catastrophe_queries, catastrophes, page_queries
from claimwatch.triage.rules import MODES
from claimwatch.web import forms
from claimwatch.web.i18n import N_
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_TRIAGE))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_TRIAGE_RULES))]
DeclarerDep = Annotated[Principal, Depends(require(Permission.DECLARE_CATASTROPHES))]
COMPARISON_DAYS = 30
FIELD_LABELS: dict[str, str] = {
    "code": N_("Code"),
    "name": N_("Name"),
    "kind": N_("Kind"),
    "regions": N_("Region codes (comma-separated)"),
    "region_codes": N_("Region codes (comma-separated)"),
    "lines": N_("Lines (none: all)"),
    "starts_on": N_("From"),
    "ends_on": N_("To"),
    "period": N_("Period"),
    "mode": N_("Mode"),
    "since": N_("From"),
    "until": N_("To"),
}


def _error(request: Request, principal: Principal, status: int) -> HTMLResponse:
    switch = "/triage/catastrophes" if request.method == "POST" else None
    return render(
        request, "triage/error.html", {"status": status}, status_code=status, principal=principal, switch_path=switch
    )


def _render(
    request: Request,
    session: Session,
    principal: Principal,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the tenant's zone; the answer to a POST switches language to the page's own address."""
    return render(
        request,
        template,
        context,
        status_code=status_code,
        principal=principal,
        zone=tenancy_service.tenant_zone(session, principal.tenant_id),
        switch_path=request.url.path.removesuffix("/mode") if request.method == "POST" else None,
    )


def _date(raw: str | None, field: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise Invalid(field, f"{field} is not a date (YYYY-MM-DD)") from None


def _csrf_ok(request: Request, form: FormData) -> bool:
    token = form.get(CSRF_FIELD)
    return csrf_valid(request, token if isinstance(token, str) else None)


def _rules_page(
    request: Request,
    session: Session,
    principal: Principal,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    params = request.query_params
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    today = dt.datetime.now(zone).date()
    try:
        since = _date(params.get("since"), "since") or today - dt.timedelta(days=COMPARISON_DAYS)
        until = _date(params.get("until"), "until") or today
        if until < since:
            raise Invalid("until", "until is before since")
    except Problem as exc:
        problem, status_code = forms.problem_for(locale, exc), exc.status
        since, until = today - dt.timedelta(days=COMPARISON_DAYS), today
    raw = params.get("set")
    chosen = int(raw) if raw and raw.isdigit() and len(raw) < 12 else None
    context = {
        "page": page_queries.rules_page(session, chosen, since, until, zone, locale),
        "problem": problem,
        "saved": params.get("saved") == "1",
        "may_manage": principal.can(Permission.MANAGE_TRIAGE_RULES) and not principal.is_regulator,
    }
    return _render(request, session, principal, "triage/rules.html", context, status_code)


@router.get("/triage/rules")
def rules(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _rules_page(request, session, principal)


@router.post("/triage/rules/mode")
def rules_mode(request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    if not _csrf_ok(request, form):
        return _error(request, principal, 403)
    mode = form.get("mode")
    try:
        if mode not in MODES:
            raise Invalid("mode", "mode must be monitor or active")
        with session.begin_nested():
            new_id = page_queries.set_mode(session, principal, str(mode))
    except Problem as exc:
        if exc.status == 404:
            return _error(request, principal, 404)
        return _rules_page(request, session, principal, exc.status, forms.problem_for(request_locale(request), exc))
    return RedirectResponse(f"{page_queries.rules_url(new_id)}&saved=1", status_code=303)


def _catastrophes_page(
    request: Request,
    session: Session,
    principal: Principal,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    context = {
        "events": catastrophe_queries.catastrophe_list(session, locale),
        "problem": problem,
        "values": values or {},
        "field_labels": FIELD_LABELS,
        "kind_options": catastrophe_queries.kind_options(locale),
        "line_options": catastrophe_queries.line_options(locale),
        "may_declare": principal.can(Permission.DECLARE_CATASTROPHES) and not principal.is_regulator,
    }
    return _render(request, session, principal, "triage/catastrophes.html", context, status_code)


@router.get("/triage/catastrophes")
def catastrophes_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _catastrophes_page(request, session, principal)


def _text(form: FormData, name: str, limit: int) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


@router.post("/triage/catastrophes")
def declare(request: Request, principal: DeclarerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    if not _csrf_ok(request, form):
        return _error(request, principal, 403)
    values: dict[str, Any] = {
        name: _text(form, name, 400) for name in ("code", "name", "kind", "regions", "starts_on", "ends_on")
    }
    values["lines"] = [line for line in form.getlist("lines") if isinstance(line, str)][:20]
    try:
        for required in ("code", "name", "kind", "regions", "starts_on"):
            if not values[required]:
                raise Invalid(required, f"{required} is required")
        starts_on = _date(values["starts_on"], "starts_on")
        if starts_on is None:
            raise Invalid("starts_on", "starts_on is required")
        declaration = catastrophes.Declaration(
            code=values["code"],
            name=values["name"],
            kind=values["kind"],
            region_codes=[code.strip() for code in values["regions"].replace("，", ",").split(",") if code.strip()],
            starts_on=starts_on,
            ends_on=_date(values["ends_on"], "ends_on"),
            lines=values["lines"],
        )
        with session.begin_nested():
            event_id = catastrophes.declare(session, principal, declaration).event.id
    except Problem as exc:
        problem = forms.problem_for(request_locale(request), exc)
        return _catastrophes_page(request, session, principal, exc.status, problem, values)
    return RedirectResponse(catastrophe_queries.catastrophe_url(event_id), status_code=303)


@router.get("/triage/catastrophes/{event_id}")
def catastrophe(event_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    found = catastrophe_queries.catastrophe_detail(session, event_id, locale)
    if found is None:
        return _error(request, principal, 404)
    return _render(request, session, principal, "triage/catastrophe.html", {"e": found})
