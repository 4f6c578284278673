"""Bodies over their route's cap are refused before they are read (issue 11): a 413 naming the field, from the
declared Content-Length without reading a byte, or, for a body without a length, as soon as the count passes
the cap. Authentication came after the whole body before: an unauthenticated 200 MB POST was held in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI

from claimwatch.complaints import importer
from claimwatch.config import get_settings
from claimwatch.web import limits
from claimwatch.web.limits import BodyLimit
from tests import loops
from tests.apps import shared_app

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def small_documents(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CLAIMWATCH_MAX_DOCUMENT_BYTES", str(MIB))
    monkeypatch.setenv("CLAIMWATCH_MAX_BATCH_EVENTS", "10")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _app() -> FastAPI:
    """The shared app for this module's settings (one per worker, not one per request: a new app pays for
    FastAPI's route build, about 1 s of CPU, on its first request). app.py installs the body limit itself."""
    app = shared_app()
    assert any(middleware.cls is BodyLimit for middleware in app.user_middleware)
    return app


@dataclass
class Sent:
    status: int = 0
    body: bytes = b""
    consumed: int = 0  # bytes of the request body the app asked for
    reads: int = 0
    messages: list[dict] = field(default_factory=list)  # type: ignore[type-arg]

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.body)


def _call(
    path: str, *, length: int | None, chunk: bytes, chunks: int | None, content_type: str, first: bytes = b""
) -> Sent:
    """One request straight through ASGI: ``first``, then ``chunks`` pieces of ``chunk`` (None: without end),
    with or without a Content-Length header, and no credentials."""
    sent = Sent()
    headers = [(b"host", b"testserver"), (b"content-type", content_type.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict:  # type: ignore[type-arg]
        sent.reads += 1
        if chunks is not None and sent.reads > chunks:
            return {"type": "http.disconnect"}
        body = first + chunk if sent.reads == 1 else chunk
        sent.consumed += len(body)
        more = chunks is None or sent.reads < chunks
        return {"type": "http.request", "body": body, "more_body": more}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        if message["type"] == "http.response.start":
            sent.status = message["status"]
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    loops.run(_app()(scope, receive, send))
    return sent


ROUTES = [
    ("/api/v1/events", "application/json", "events", 10 * limits.EVENT_BYTES + limits.ENVELOPE_BYTES),
    ("/api/v1/claims/CLM-1/documents", "multipart/form-data; boundary=x", "file", MIB + limits.ENVELOPE_BYTES),
    ("/api/v1/lookup/claim/documents", "multipart/form-data; boundary=x", "file", MIB + limits.ENVELOPE_BYTES),
    ("/api/v1/complaints/import", "text/csv", "file", limits.IMPORT_BYTES + limits.ENVELOPE_BYTES),
    ("/api/v1/notify/opt-outs", "application/json", "body", limits.DEFAULT_BYTES),
]


@pytest.mark.parametrize(("path", "content_type", "field", "cap"), ROUTES)
def test_a_declared_oversize_body_is_refused_unread(database, path: str, content_type: str, field: str, cap: int):
    sent = _call(path, length=cap + 1, chunk=b"{", chunks=1, content_type=content_type)
    assert sent.status == 413, sent.body
    assert sent.reads == 0 and sent.consumed == 0  # not one byte read
    assert sent.json()["problems"] == [{"field": field, "message": f"request body larger than {cap} bytes"}]


MULTIPART_START = (
    b'--x\r\nContent-Disposition: form-data; name="item_code"\r\n\r\nclaim_form\r\n'
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
)


@pytest.mark.parametrize(("path", "content_type", "field", "cap"), [r for r in ROUTES if "import" not in r[0]])
def test_an_endless_body_without_a_length_is_read_no_further_than_its_cap(
    database, path: str, content_type: str, field: str, cap: int
):
    piece = b"x" * (64 * 1024)
    first = MULTIPART_START if content_type.startswith("multipart") else b""
    sent = _call(path, length=None, chunk=piece, chunks=None, content_type=content_type, first=first)
    assert sent.status == 413, sent.body
    assert cap < sent.consumed <= cap + len(piece) + len(first)
    assert sent.json()["problems"][0]["field"] == field


def test_the_import_authenticates_before_it_reads(database):
    endless = _call("/api/v1/complaints/import", length=None, chunk=b"x" * 65536, chunks=None, content_type="text/csv")
    assert endless.status == 401 and endless.reads == 0


def test_bodies_within_their_cap_reach_the_route(database):
    # Unauthenticated, so the route refuses it: but it got there (401), it was not cut off (413).
    sent = _call("/api/v1/events", length=2, chunk=b"{}", chunks=1, content_type="application/json")
    assert sent.status == 401


def test_the_import_cap_is_the_importers():
    assert limits.IMPORT_BYTES == importer.MAX_IMPORT_BYTES
