"""Register pages: the provider list (filters kind, task kind, region, line, status, text; CSV) and one provider
(details, masked contact, contracts and levels, the level of each task kind it does, its recent tasks, and the
suspend / reinstate form with its reason). Another insurer's provider answers 404; a regulator reads every
insurer's register (``?tenant=CODE`` on a provider's page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.queries import line_options, region_options
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.providers import api, loader, register_queries, service
from claimwatch.providers import queries as task_queries
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_PROVIDERS))]
RECENT_TASKS = 10
# What the status form says when the service refuses a field (the English page adds the service's detail).
_MESSAGES = {
    "reason": N_("Give the reason."),
    "status": N_("The provider already has this status: reload the page."),
}


def _zone(session: Session, principal: Principal) -> Any:
    return tenancy_service.tenant_zone(session, None if principal.is_regulator else principal.tenant_id)


def _filters(request: Request) -> tuple[register_queries.ListFilter, dict[str, Any] | None]:
    try:
        return register_queries.ListFilter.of(request.query_params), None
    except Problem as exc:
        return register_queries.ListFilter(), forms.problem_for(request_locale(request), exc)


def _options(session: Session, principal: Principal, locale: str) -> dict[str, Any]:
    tenant_id = None if principal.is_regulator else service.tenant_of(principal)
    kinds = loader.task_kinds(session, tenant_id).values() if tenant_id else loader.base_catalogue().kinds.values()
    return {
        "kinds": [(k, service.kind_label(k, locale)) for k in loader.PROVIDER_KINDS],
        "task_kinds": [(k.code, k.name(locale)) for k in kinds],
        "regions": region_options(locale),
        "lines": line_options(locale),
        "statuses": [(s, service.STATUS_LABELS[s]) for s in service.SHOWN_STATUSES],
    }


@router.get("/providers")
def list_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    query, problem = _filters(request)
    locale = request_locale(request)
    rows = register_queries.provider_rows(session, principal, query, locale)
    params = query.as_params()
    context = {
        "rows": rows,
        "query": query,
        "problem": problem,
        "options": _options(session, principal, locale),
        "csv_url": "/providers.csv" + (f"?{urlencode(params)}" if params else ""),
        "with_insurer": principal.is_regulator,
    }
    status = 422 if problem else 200
    return render(
        request, "providers/list.html", context, principal=principal, zone=_zone(session, principal), status_code=status
    )


@router.get("/providers.csv")
def list_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    query = register_queries.ListFilter.of(request.query_params)
    locale = request_locale(request)
    rows = register_queries.provider_rows(session, principal, query, locale)
    stamp = dt.datetime.now(_zone(session, principal)).strftime("%Y%m%d")
    return Response(
        register_queries.to_csv(rows, locale, principal.is_regulator),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="providers-{stamp}.csv"'},
    )


def _provider_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    tenant: str | None,
    problem: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    provider = service.get_provider(session, code, api.read_tenant(session, principal, tenant))
    locale = request_locale(request)
    view = register_queries.provider_view(session, provider, locale, regulator=principal.is_regulator)
    context = {
        "p": view,
        "tasks": task_queries.tasks_of_provider(session, provider.id, RECENT_TASKS, locale),
        "may_set_status": not principal.is_regulator
        and (principal.can(Permission.MANAGE_PROVIDERS) or principal.can(Permission.REVIEW_PROVIDERS)),
        "problem": problem,
        "form": form or {},
    }
    return render(
        request,
        "providers/provider.html",
        context,
        principal=principal,
        zone=tenancy_service.tenant_zone(session, provider.tenant_id),
        status_code=status_code,
        switch_path=view["url"],
    )


@router.get("/providers/{code}")
def provider_page(request: Request, code: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    tenant = (request.query_params.get("tenant") or "")[:32] or None
    return _provider_page(request, session, principal, code[:64], tenant)


@router.post("/providers/{code}/status")
def status_post(
    request: Request, code: str, principal: ViewerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    """Suspend or reinstate with a reason; a refusal keeps the page with the message at its field."""
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    status = form.get("status")
    reason = form.get("reason")
    values = {"status": status if isinstance(status, str) else "", "reason": reason if isinstance(reason, str) else ""}
    try:
        if not values["reason"].strip():
            raise Invalid("reason", "a reason is required")
        with session.begin_nested():
            provider = service.set_status(session, principal, code[:64], values["status"], values["reason"][:2000])
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        locale = request_locale(request)
        problem = forms.problem_for(locale, exc)
        if exc.field in _MESSAGES:
            problem["message"] = translate(locale, _MESSAGES[exc.field])
        return _provider_page(request, session, principal, code[:64], None, problem, values, exc.status)
    return RedirectResponse(service.provider_url(provider.code), status_code=303)
