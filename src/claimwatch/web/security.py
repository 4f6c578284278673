"""Browser-side protections for the pages: a per-session CSRF token, safe redirects and response headers.

The session cookie is already SameSite=lax; the token additionally guards every POST form, so a
cross-site form post (or a same-site one from another tab of an old session) is refused.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
DEFAULT_AFTER_LOGIN = "/claims"

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
