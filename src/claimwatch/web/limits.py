"""Request body caps, enforced before the body is read (an ASGI middleware in front of the app).

A request whose ``Content-Length`` is over its route's cap gets a 413 at once and its body is never read;
one without a length (chunked) is read until it passes the cap, then refused with a 413 and read no further.
Without this every route read its whole body before anything else ran (authentication included): one
unauthenticated 200 MB POST held 200 MB and more of server memory.

The caps, per route (``ROUTE_CAPS``): an event batch ``CLAIMWATCH_MAX_BATCH_EVENTS`` events of at most
``EVENT_BYTES`` each; a document upload ``CLAIMWATCH_MAX_DOCUMENT_BYTES`` plus the multipart envelope; a
complaint CSV import, a provider import or an event log for process analytics ``IMPORT_BYTES`` plus the
envelope; anything else ``DEFAULT_BYTES``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from claimwatch.config import Settings, get_settings
from claimwatch.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB = 1024
MIB = 1024 * KIB
# One event of a batch, generously: the longest text fields (a 2000-character reason, JSON-escaped) included.
EVENT_BYTES = 16 * KIB
# A multipart body's boundaries, headers and small fields around the file.
ENVELOPE_BYTES = 64 * KIB
# The complaint CSV import's own cap (claimwatch.complaints.importer.MAX_IMPORT_BYTES; a test keeps them equal).
IMPORT_BYTES = 20 * MIB
# Every other body: JSON objects and forms of a few fields (a complaint's description is at most 20 000 characters).
DEFAULT_BYTES = 1 * MIB


def _events(settings: Settings) -> int:
    return settings.max_batch_events * EVENT_BYTES + ENVELOPE_BYTES


def _document(settings: Settings) -> int:
    return settings.max_document_bytes + ENVELOPE_BYTES


def _import(settings: Settings) -> int:
    return IMPORT_BYTES + ENVELOPE_BYTES


@dataclass(frozen=True)
class RouteCap:
    path: re.Pattern[str]
    cap: Callable[[Settings], int]
    field: str  # what the 413 names


ROUTE_CAPS: tuple[RouteCap, ...] = (
    RouteCap(re.compile(r"^/api/v1/events/?$"), _events, "events"),
    RouteCap(re.compile(r"^/api/v1/claims/[^/]+/documents/?$"), _document, "file"),
    RouteCap(re.compile(r"^/api/v1/lookup/claim/documents/?$"), _document, "file"),
    RouteCap(re.compile(r"^/lookup/[^/]+/claim/documents/?$"), _document, "file"),
    RouteCap(re.compile(r"^(/api/v1)?/complaints/import/?$"), _import, "file"),
    RouteCap(re.compile(r"^(/api/v1)?/inspections/\d+/evidence/?$"), _document, "file"),
    RouteCap(re.compile(r"^(/api/v1)?/rectifications/\d+/evidence/?$"), _document, "file"),
    RouteCap(re.compile(r"^/api/v1/provider/tasks/[^/]+/report/?$"), _document, "file"),
    RouteCap(re.compile(r"^/provider/tasks/[^/]+/report/?$"), _document, "file"),
    RouteCap(re.compile(r"^/api/v1/provider-imports/[^/]+/?$"), _import, "file"),
    RouteCap(re.compile(r"^/api/v1/analytics/process/log/?$"), _import, "file"),
)


def cap_for(path: str, settings: Settings | None = None) -> tuple[int, str]:
    """The body cap of a request path in bytes, and the field its 413 names."""
    settings = settings or get_settings()
    for route in ROUTE_CAPS:
        if route.path.match(path):
            return route.cap(settings), route.field
    return DEFAULT_BYTES, "body"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without a length passes its cap: the app's handlers answer 413."""

    def __init__(self, cap: int, field: str) -> None:
        self.cap = cap
        self.field = field
        message = f"request body larger than {cap} bytes"
        super().__init__(413, detail=error_body(message, [{"field": field, "message": message}]))


def _response(cap: int, field: str) -> tuple[dict[str, Any], bytes]:
    message = f"request body larger than {cap} bytes"
    body = json.dumps(error_body(message, [{"field": field, "message": message}])).encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the unread body is not kept for a next request on this connection
        ],
    }
    return start, body


class BodyLimit:
    """ASGI middleware: refuse bodies over their route's cap before reading them (see the module docstring).

    Added once in the app: ``app.add_middleware(BodyLimit)``."""

    def __init__(self, app: ASGIApp, caps: Callable[[str], tuple[int, str]] = cap_for) -> None:
        self.app = app
        self.caps = caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap, field = self.caps(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _refuse(send, cap, field)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap, field)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Raised where no handler of the app caught it (e.g. before routing): answer it here if we still can.
            if started:
                raise
            await _refuse(send, cap, field)


async def _refuse(send: Send, cap: int, field: str) -> None:
    start, body = _response(cap, field)
    await send(start)
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself; the streamed count still applies
    return None
