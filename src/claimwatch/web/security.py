"""Browser-side protections: a per-session CSRF token, safe redirects, response headers, the guard of the
JSON API against cross-site writes with the session cookie, and private API docs.

The session cookie is already SameSite=lax; the token additionally guards every POST form, so a
cross-site form post (or a same-site one from another tab of an old session) is refused. The API takes
the same token in the ``X-CSRF-Token`` header whenever the cookie, not an API key, authenticates a write.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claimwatch.auth.deps import current_principal, presented_api_key, session_token
from claimwatch.config import get_settings
from claimwatch.errors import error_body

CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Every role's home: the to-do inbox (我的待办, claimwatch.todo.pages) shows the work of the signed-in role.
DEFAULT_AFTER_LOGIN = "/my"
API_PREFIX = "/api/"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ResponseT = TypeVar("ResponseT", bound=Response)

# Scripts and styles come from /static only (htmx is vendored); no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def csrf_token(request: Request) -> str:
    """The session's token, created on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def rotate_csrf_token(request: Request) -> str:
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return request.session[CSRF_SESSION_KEY]


def csrf_valid(request: Request, presented: str | None) -> bool:
    expected = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative ``//evil``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return DEFAULT_AFTER_LOGIN
    if any(ch in target for ch in "\r\n\\") or target.startswith("/login"):
        return DEFAULT_AFTER_LOGIN
    return target


def add_page_headers(response: ResponseT) -> ResponseT:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # Pages show claimants' (masked) data: keep them out of shared and back-forward caches.
    response.headers["Cache-Control"] = "no-store"
    return response


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def same_origin(request: Request) -> bool:
    """The browser says the request comes from a page of this site: its ``Origin`` is the address the
    request was sent to, or the configured public address (behind a proxy that ends TLS)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    own = {_origin(str(request.base_url)), _origin(get_settings().public_base_url)}
    return _origin(origin) in own


def cookie_write_allowed(request: Request) -> bool:
    """A write on the API is allowed unless the session cookie authenticates it (no API key) without the
    session's CSRF token in ``X-CSRF-Token`` and without coming from this site's own origin."""
    if request.method not in UNSAFE_METHODS or presented_api_key(request) or session_token(request) is None:
        return True
    return csrf_valid(request, request.headers.get(CSRF_HEADER)) or same_origin(request)


class ApiGuard:
    """ASGI middleware for everything under /api/: refuses a cross-site write carried by the session
    cookie (403, before the body is read) and marks every answer ``Cache-Control: no-store`` and
    ``nosniff`` (answers carry claimants' data). It reads the session, so it runs inside the
    SessionMiddleware (added to the app before it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        if not cookie_write_allowed(Request(scope)):
            message = f"a write signed in by the session cookie needs the {CSRF_HEADER} header (or an API key)"
            body = error_body(message, [{"field": CSRF_HEADER, "message": message}])
            await JSONResponse(status_code=403, content=body)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def serve_private_docs(app: FastAPI) -> None:
    """/openapi.json and /docs for signed-in users and API keys only (``CLAIMWATCH_PUBLIC_DOCS=false``);
    the app is created with ``openapi_url=None`` so that FastAPI serves neither itself."""

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: Any = Depends(current_principal)) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(_: Any = Depends(current_principal)) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - API")
