"""The outermost ASGI middleware: a request id on every request, its latency in /metrics, one log line.

* ``X-Request-ID``: taken from the request when it is a plain token (a proxy's or a client's id, at most 64
  characters of letters, digits and ``._:-``), otherwise a new one; bound into structlog's context
  variables for the request, so every log line written while serving it carries ``request_id``; sent back
  in the response.
* Latency by route *template* (``/claims/{number}``), never the raw URL: the URL carries claim numbers and
  search words, and would make a series per claim.
* One log line per request: method, route template, status, milliseconds and the request id — no path,
  query, client address or user (those can be personal data; the audit chain records who did what).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders

from claimwatch.ops import ingest, metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Not logged line by line (probes and scrapers call them every few seconds; static files are many).
QUIET = ("/healthz", "/readyz", "/metrics", "/static")

log = structlog.get_logger("claimwatch.request")


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _VALID.match(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else metrics.UNMATCHED


class RequestObserver:
    """Added last in the app (so it is outermost): ``app.add_middleware(RequestObserver)``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        source = ingest.SOURCE.set("api")
        with structlog.contextvars.bound_contextvars(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                ingest.SOURCE.reset(source)
                seconds = time.perf_counter() - started
                route = route_template(scope)
                method = scope.get("method", "GET")
                metrics.observe(route, method, status, seconds)
                if not scope.get("path", "").startswith(QUIET):
                    log.info("request", method=method, route=route, status=status, ms=round(seconds * 1000, 1))
