"""Server-rendered pages: sign-in, the claims list (HTMX filters), a claim with its timeline, SLA
clocks and materials, the supervisors' queue (督办队列) and the regulator filings (监管报备).

Routes stay thin: they read the request, call :mod:`claimwatch.web.service` and render. Every page
but /login needs a signed-in user with VIEW_CLAIMS; a visitor who is not signed in is sent to
/login (303) instead of getting the API's JSON 401.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from claimwatch.auth import service as auth_service
from claimwatch.auth.deps import SESSION_USER_KEY, current_principal, request_locale, require, tenant_session
from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.web import labels, service
from claimwatch.web.i18n import LOCALES, render_template
from claimwatch.web.labels import EVENT_TYPE_LABELS, ROLE_LABELS
from claimwatch.web.security import (
    CSRF_FIELD,
    add_page_headers,
    csrf_token,
    csrf_valid,
    rotate_csrf_token,
    safe_next,
)

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_USERNAME = 64
MAX_PASSWORD = 1024


def is_htmx(request: Request) -> bool:
    # A history restore wants the whole page, not a fragment.
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def _here(request: Request, **changes: str) -> str:
    """This page's path and query with some parameters replaced (for the language switch)."""
    encoded = urlencode(dict(request.query_params) | changes)
    return f"{request.url.path}?{encoded}" if encoded else request.url.path


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
    switch_path: str | None = None,
) -> HTMLResponse:
    """``switch_path``: where the language link leads when not this page (the answer to a POST)."""
    locale = request_locale(request)
    other = "en" if locale == "zh" else "zh"
    page_context: dict[str, Any] = {
        "principal": principal,
        "role_label": ROLE_LABELS.get(principal.role, principal.role.value) if principal else "",
        "event_type_labels": EVENT_TYPE_LABELS,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "other_locale": other,
        "switch_url": f"{switch_path}?{urlencode({'lang': other})}" if switch_path else _here(request, lang=other),
        "path": request.url.path,
        "nav_queue": principal is not None and principal.can(Permission.VIEW_ESCALATIONS),
        "nav_filings": principal is not None and principal.can(Permission.VIEW_FILINGS),
        "nav_complaints": principal is not None and principal.can(Permission.VIEW_COMPLAINTS),
        "nav_surveys": principal is not None and principal.can(Permission.VIEW_SURVEYS),
        "labels": labels,
    } | (context or {})
    response = HTMLResponse(render_template(locale, template, page_context), status_code=status_code)
    chosen = request.query_params.get("lang")
    if chosen in LOCALES and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_MAX_AGE,
            samesite="lax",
            httponly=True,
            secure=get_settings().session_cookie_secure,
        )
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    return add_page_headers(response)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login" if target in ("/", "/claims") else f"/login?{urlencode({'next': target})}"
    if request.headers.get("hx-request") == "true":
        # htmx would swap a followed redirect into the table; ask it to load the page instead.
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class PageRoute(APIRoute):
    """Turns the auth dependencies' HTTP errors into pages: 401 → /login, 403 and 404 → an HTML page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 401:
                    return _login_redirect(request)
                if exc.status_code in (403, 404):
                    return _error_page(request, exc.status_code)
                raise

        return page_handler


def _error_page(
    request: Request, status_code: int, principal: Principal | None = None, subject: str = "claim"
) -> HTMLResponse:
    context = {"status": status_code, "subject": subject}
    # The answer to a form post: the language link leads to a page, not back to the post's address.
    switch_path = None
    if request.method == "POST":
        switch_path = "/sla/queue" if subject == "escalation" else "/claims"
    return render(request, "error.html", context, status_code=status_code, principal=principal, switch_path=switch_path)


router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_CLAIMS))]
QueueViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_ESCALATIONS))]
FilingsViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_FILINGS))]
SessionDep = Annotated[Session, Depends(tenant_session)]


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/claims", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    try:
        current_principal(request)
    except HTTPException:
        return render(request, "login.html", {"next": safe_next(next), "username": "", "error": None})
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    target = safe_next(next_url)
    username = username.strip()[:MAX_USERNAME]
    if not csrf_valid(request, csrf_token_value):
        rotate_csrf_token(request)
        context = {"next": target, "username": username, "error": "expired"}
        return render(request, "login.html", context, status_code=403)
    principal = None
    if username and password and len(password) <= MAX_PASSWORD:
        with unit_of_work(TenantContext.system_context()) as session:
            principal = auth_service.authenticate(session, username, password)
    if principal is None or principal.user_id is None:
        context = {"next": target, "username": username, "error": "credentials"}
        return render(request, "login.html", context, status_code=401)
    # A fresh session on sign-in: nothing chosen before (a planted cookie included) carries over.
    request.session.clear()
    request.session[SESSION_USER_KEY] = principal.user_id
    rotate_csrf_token(request)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    if not csrf_valid(request, csrf_token_value):
        return _error_page(request, 403)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/claims")
def claims(request: Request, principal: ViewerDep, session: SessionDep) -> HTMLResponse:
    query = service.ListQuery.from_params(request.query_params)
    page = service.claims_page(session, principal, query, request_locale(request))
    if not is_htmx(request):
        return render(request, "claims.html", {"view": page}, principal=principal)
    response = render(request, "claims_fragment.html", {"view": page}, principal=principal)
    response.headers["HX-Push-Url"] = query.url()  # the address bar shows the filters without empty ones
    return response


@router.get("/claims/{number:path}")
def claim(number: str, request: Request, principal: ViewerDep, session: SessionDep) -> HTMLResponse:
    tenant_code = request.query_params.get("tenant") or None
    try:
        view = service.claim_page(session, principal, number, tenant_code, request_locale(request))
    except service.ClaimNotFound:
        return _error_page(request, 404, principal)
    return render(request, "claim.html", {"view": view}, principal=principal)


@router.get("/sla/queue")
def sla_queue(request: Request, principal: QueueViewerDep, session: SessionDep) -> HTMLResponse:
    include_acknowledged = request.query_params.get("all") == "1"
    view = service.queue_page(session, principal, include_acknowledged, request_locale(request))
    if not is_htmx(request):
        return render(request, "queue.html", {"view": view, "problem": None}, principal=principal)
    context = {"view": view, "problem": None, "oob_lang": True}
    response = render(request, "queue_fragment.html", context, principal=principal)
    response.headers["HX-Push-Url"] = view.url()
    return response


@router.post("/sla/queue/{escalation_id}/acknowledge")
def sla_acknowledge(
    escalation_id: str,
    request: Request,
    principal: QueueViewerDep,
    note: Annotated[str, Form()] = "",
    include_acknowledged: Annotated[str, Form(alias="all")] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """督办 a case, then back to the queue: a redirect, or for htmx the queue's table at once.
    htmx swaps no error response, so there a refusal comes back as the table with an alert."""
    back_to_all = include_acknowledged == "1"
    problem: str | None = None
    status = 200
    if not csrf_valid(request, csrf_token_value):
        problem, status = "expired", 403
    elif not (escalation_id.isascii() and escalation_id.isdigit()) or len(escalation_id) > 18:
        problem, status = "not_found", 404
    else:
        try:
            service.acknowledge(principal, int(escalation_id), note)
        except service.EscalationNotFound:
            problem, status = "not_found", 404
        except service.AlreadyAcknowledged:
            problem, status = "already", 409
    if not is_htmx(request):
        if problem is None:
            return RedirectResponse(service.queue_url(back_to_all), status_code=303)
        return _error_page(request, status, principal, subject="escalation")
    with unit_of_work(principal.context()) as session:
        view = service.queue_page(session, principal, back_to_all, request_locale(request))
        return render(request, "queue_fragment.html", {"view": view, "problem": problem}, principal=principal)


@router.get("/sla/filings")
def sla_filings(request: Request, principal: FilingsViewerDep, session: SessionDep) -> HTMLResponse:
    query = service.FilingsQuery.from_params(request.query_params)
    view = service.filings_page(session, principal, query, request_locale(request))
    return render(request, "filings.html", {"view": view}, principal=principal)
