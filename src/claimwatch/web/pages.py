"""The web shell: the one page renderer (:func:`render`), the page route class (:class:`PageRoute`),
the error page, and sign-in/sign-out.

A domain's screens live in that domain's ``pages.py`` (the claims in :mod:`claimwatch.cases.pages`,
the supervisors' queue and filings in :mod:`claimwatch.sla.pages`); they render through
:func:`render` and use :class:`PageRoute`, so a visitor who is not signed in is sent to /login (303)
instead of getting the API's JSON 401, and a refusal (403, 404, a raised ``Problem``) is a page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from claimwatch.auth import service as auth_service
from claimwatch.auth.deps import SESSION_TOKEN_KEY, client_address, current_principal, request_locale, session_token
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem
from claimwatch.heartbeat import watch as heartbeat_watch
from claimwatch.heartbeat.service import KIND_LABELS
from claimwatch.tenancy.service import platform_zone
from claimwatch.web import labels
from claimwatch.web.i18n import LOCALES, TIME_ZONE_KEY, render_template
from claimwatch.web.labels import EVENT_TYPE_LABELS, ROLE_LABELS
from claimwatch.web.security import (
    CSRF_FIELD,
    DEFAULT_AFTER_LOGIN,
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


def _stale_worker(principal: Principal | None) -> list[str]:
    """The labels of the worker's pass kinds whose heartbeat is stale, for admins and quality managers
    (the banner of base.html); one small query, cached a few seconds (``heartbeat.watch``)."""
    if principal is None or not principal.can(Permission.VIEW_OPERATIONS):
        return []
    return [KIND_LABELS.get(age.kind, age.kind) for age in heartbeat_watch.stale_kinds()]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
    switch_path: str | None = None,
    zone: ZoneInfo | None = None,
) -> HTMLResponse:
    """The one way a page is rendered: ``template`` with ``context`` plus what every page needs (the
    signed-in ``principal``, navigation, CSRF token, language switch, labels).

    ``switch_path``: where the language link leads when not this page (the answer to a POST).
    ``zone``: the zone the ``localtime`` filter shows times in: the tenant's
    (``tenancy.service.tenant_zone``); the platform zone when not given (e.g. a regulator's
    cross-insurer view).
    """
    locale = request_locale(request)
    other = "en" if locale == "zh" else "zh"
    page_context: dict[str, Any] = {
        TIME_ZONE_KEY: zone or platform_zone(),
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
        "nav_dashboard": principal is not None and principal.can(Permission.VIEW_KPIS),
        "nav_assignment": principal is not None and principal.can(Permission.MANAGE_ASSIGNMENT),
        # An inspector's way in is their worklist; the quality department's is the plans.
        "nav_inspections": (
            None
            if principal is None or not principal.can(Permission.VIEW_INSPECTIONS)
            else "/inspections/my"
            if principal.can(Permission.INBOX_INSPECTIONS) and not principal.can(Permission.MANAGE_INSPECTION_PLANS)
            else "/inspections/plans"
        ),
        "nav_rectifications": principal is not None and principal.can(Permission.VIEW_RECTIFICATIONS),
        "nav_sanctions": principal is not None and principal.can(Permission.VIEW_SANCTIONS),
        "nav_actions": principal is not None and principal.can(Permission.VIEW_ACTIONS),
        "nav_committee": principal is not None and principal.can(Permission.VIEW_COMMITTEE),
        "nav_reports": principal is not None and principal.can(Permission.VIEW_REPORTS),
        "nav_review": principal is not None and principal.can(Permission.VIEW_RISK),
        "nav_triage": principal is not None
        and (principal.can(Permission.MANAGE_TRIAGE_RULES) or principal.can(Permission.DECLARE_CATASTROPHES)),
        # Third parties: the regulator's way in is the cross-insurer statistics; staff see the register and tasks.
        "nav_providers": (
            None
            if principal is None or not principal.can(Permission.VIEW_PROVIDERS)
            else "/providers/statistics"
            if principal.is_regulator
            else "/providers"
        ),
        "nav_provider_tasks": principal is not None
        and not principal.is_regulator
        and principal.can(Permission.VIEW_PROVIDERS),
        "nav_ratings": principal is not None and principal.can(Permission.VIEW_RATINGS),
        "nav_benchmarks": principal is not None and principal.can(Permission.VIEW_BENCHMARKS),
        # Every staff member may fetch a receipt; the menu shows the evidence page to those who check the chain.
        "nav_evidence": principal is not None
        and principal.can(Permission.VIEW_EVIDENCE)
        and principal.can(Permission.VERIFY_AUDIT),
        "nav_sales": principal is not None and principal.can(Permission.VIEW_SALES),
        "nav_revisits": principal is not None
        and (principal.can(Permission.VIEW_SALES) or principal.can(Permission.WORK_REVISITS)),
        "nav_underwriting": principal is not None and principal.can(Permission.VIEW_UNDERWRITING),
        "nav_people": principal is not None and principal.can(Permission.VIEW_PEOPLE),
        "nav_appraisals": principal is not None and principal.can(Permission.VIEW_APPRAISALS),
        # Everyone else who is appraised sees their own card.
        "nav_my_appraisal": principal is not None
        and principal.can(Permission.VIEW_OWN_APPRAISAL)
        and not principal.can(Permission.VIEW_APPRAISALS),
        "nav_service_requests": principal is not None and principal.can(Permission.VIEW_SERVICE_REQUESTS),
        "nav_kb": principal is not None and principal.can(Permission.VIEW_KB),
        "nav_forecasts": principal is not None and principal.can(Permission.VIEW_FORECASTS),
        "labels": labels,
        "stale_worker": _stale_worker(principal),
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


def _return_target(request: Request) -> str:
    """Where to come back after signing in: the page itself; for an htmx request of the page's own path (a
    filter or a page of its table) the state it asked for; for another fragment (the bell's count) the page that
    polled it (HX-Current-URL, same origin only), never the fragment."""
    own = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request") != "true":
        return own
    current = urlsplit(request.headers.get("hx-current-url", ""))
    if current.netloc != request.url.netloc or not current.path.startswith("/") or current.path.startswith("//"):
        return "/"
    if current.path == request.url.path:
        return own
    return current.path + (f"?{current.query}" if current.query else "")


def _login_redirect(request: Request) -> Response:
    target = _return_target(request)
    location = "/login" if target in ("/", DEFAULT_AFTER_LOGIN) else f"/login?{urlencode({'next': target})}"
    if request.headers.get("hx-request") == "true":
        # htmx would swap a followed redirect into the table; ask it to load the page instead.
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class PageRoute(APIRoute):
    """Marks an HTML route: the app's error handlers answer its refusals with pages (see
    :func:`page_refusal`) instead of JSON.

    The conversion happens in the app's handlers, not around the route, so that the exception passes
    through the request's session dependency first and the unit of work rolls back: a refused action
    leaves nothing behind."""


def page_refusal(request: Request, exc: Exception) -> Response | None:
    """The page that answers a refusal of an HTML route: 401 → /login, 403 and 404 → the error page, a
    ``Problem`` → the error page with its status. ``None`` for a JSON route or another error."""
    if not isinstance(request.scope.get("route"), PageRoute):
        return None
    principal = getattr(request.state, "principal", None)
    if isinstance(exc, Problem):
        return error_page(request, exc.status, principal, subject=_subject(request))
    if isinstance(exc, AccessDenied):
        return error_page(request, 403, principal)
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 401:
            return _login_redirect(request)
        if exc.status_code in (403, 404):
            # A permission suspended by a sanction says until when (auth.deps.require puts it in the detail).
            detail = exc.detail.get("detail") if isinstance(exc.detail, dict) else None
            return error_page(request, exc.status_code, principal, message=detail)
    return None


def _subject(request: Request) -> str:
    """What the error page says was not found, and where it leads back to."""
    return "escalation" if request.url.path.startswith("/sla/queue") else "claim"


def error_page(
    request: Request,
    status_code: int,
    principal: Principal | None = None,
    subject: str = "claim",
    message: str | None = None,
) -> HTMLResponse:
    """The HTML answer to a refusal: 404 (``subject``: "claim" or "escalation"), 409, or not allowed
    (``message``: why, when there is more to say, e.g. a suspension's end date)."""
    context = {"status": status_code, "subject": subject, "message": message}
    # The answer to a form post: the language link leads to a page, not back to the post's address.
    switch_path = None
    if request.method == "POST":
        switch_path = "/sla/queue" if subject == "escalation" else "/claims"
    return render(request, "error.html", context, status_code=status_code, principal=principal, switch_path=switch_path)


router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse(DEFAULT_AFTER_LOGIN, status_code=303)


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
    """Sign in. A wrong password and an unknown name get the same 401 page; a locked name or address
    (too many failures: auth.service.sign_in) a 429 page that asks to wait, the same for both."""
    target = safe_next(next_url)
    username = username.strip()[:MAX_USERNAME]
    if not csrf_valid(request, csrf_token_value):
        rotate_csrf_token(request)
        context = {"next": target, "username": username, "error": "expired"}
        return render(request, "login.html", context, status_code=403)
    outcome = None
    if username and password and len(password) <= MAX_PASSWORD:
        previous = session_token(request)
        with unit_of_work(TenantContext.system_context()) as session:
            outcome = auth_service.sign_in(session, username, password, client_address(request))
            if outcome.session_token is not None and previous is not None:
                auth_service.sign_out(session, previous, client_address(request))  # the session it replaces
    if outcome is not None and outcome.status == auth_service.LOCKED:
        minutes = max(1, -(-outcome.retry_after // 60))
        locked = {"next": target, "username": username, "error": "locked", "minutes": str(minutes)}
        response = render(request, "login.html", locked, status_code=429)
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome is None or outcome.session_token is None:
        context = {"next": target, "username": username, "error": "credentials"}
        return render(request, "login.html", context, status_code=401)
    # A fresh session on sign-in: nothing chosen before (a planted cookie included) carries over.
    request.session.clear()
    request.session[SESSION_TOKEN_KEY] = outcome.session_token
    rotate_csrf_token(request)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    """Sign out: the server-side session ends, so a copy of the cookie is worth nothing afterwards."""
    if not csrf_valid(request, csrf_token_value):
        return error_page(request, 403)
    token = session_token(request)
    if token is not None:
        with unit_of_work(TenantContext.system_context()) as session:
            auth_service.sign_out(session, token, client_address(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
