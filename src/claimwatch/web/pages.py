"""Server-rendered pages: sign-in, the claims list (HTMX filters) and a claim with its timeline.

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
from claimwatch.web import service
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


def _is_htmx(request: Request) -> bool:
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
) -> HTMLResponse:
    locale = request_locale(request)
    other = "en" if locale == "zh" else "zh"
    page_context: dict[str, Any] = {
        "principal": principal,
        "role_label": ROLE_LABELS.get(principal.role, principal.role.value) if principal else "",
        "event_type_labels": EVENT_TYPE_LABELS,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "other_locale": other,
        "switch_url": _here(request, lang=other),
        "path": request.url.path,
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


def _error_page(request: Request, status_code: int, principal: Principal | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status": status_code}, status_code=status_code, principal=principal)


router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_CLAIMS))]
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
    if not _is_htmx(request):
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
