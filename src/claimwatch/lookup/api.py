"""The public lookup API (no account): verify, then read the one claim and upload its missing documents
with the bearer token the verification returned. Thin: the rules are in :mod:`claimwatch.lookup.service`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from claimwatch.auth.deps import request_locale
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.lookup import service
from claimwatch.lookup.schemas import ClaimOut, LookupIn, LookupOut, Message, OtpIn, UploadOut
from claimwatch.materials import service as materials_service

router = APIRouter(prefix="/api/v1/lookup", tags=["claimant lookup"])

OTP_SENT = {"detail": "if the claim number is registered, a one-time code has been sent to the claimant's phone"}


def client_address(request: Request) -> str:
    """The peer address. Behind a reverse proxy listed in
    CLAIMWATCH_TRUSTED_PROXIES this is the claimant's address, not the proxy's."""
    return request.client.host if request.client else "unknown"


def find_insurer(code: str) -> service.Insurer | None:
    """The insurer of a public code: from the minute's cache, or read across tenants (read-only), the one
    read made before the claimant's insurer is known. Everything after runs in that insurer's context."""
    cached = service.cached_insurer(code)
    if not isinstance(cached, service.NotCached):
        return cached
    with unit_of_work(TenantContext.regulator()) as session:
        return service.insurer(session, code)


def _insurer(code: str) -> service.Insurer:
    found = find_insurer(code)
    if found is None:
        raise service.UnknownInsurer(code)
    return found


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(content: dict[str, Any], status_code: int = 200) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=_iso).encode()
    return Response(body, status_code=status_code, media_type="application/json")


def _session(request: Request) -> service.LookupSession:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found = service.read_token(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise service.NoLookupSession()
    return found


@router.post(
    "",
    response_model=LookupOut,
    responses={
        401: {"model": Message, "description": "verification failed (the same answer for an unknown claim number)"},
        404: {"model": Message, "description": "unknown insurer code"},
        429: {"model": Message, "description": "claim number or client address locked after repeated failures"},
    },
)
async def lookup(body: LookupIn, request: Request) -> Any:
    """Claim number + last 4 digits of the claimant's phone, or the one-time code sent by SMS. Success
    returns the claim and a short-lived bearer token for this one claim."""
    # Run inline on the event loop, not in the thread pool: a lookup is about a millisecond of
    # indexed single-row reads (the GIL serialises it anyway), and the hand-off to a worker thread
    # and back cost as much again under load.
    found = _insurer(body.insurer)
    client = client_address(request)
    # The phone factor is checked in a read-only transaction (on SQLite a deferred BEGIN: no write lock, so lookups
    # run beside each other and beside the worker's batches); what it has to count is written after, in a
    # transaction that may write. A one-time code is used up by its check, so that check may write itself.
    by_phone = body.code is None
    with unit_of_work(TenantContext.anonymous(found.id, read_only=by_phone)) as session:
        outcome = service.verify(
            session,
            found,
            body.claim_number,
            client,
            body.phone_last4,
            body.code,
            locale=request_locale(request),
            counts_later=by_phone,
        )
    # A failure is answered only after its counts committed (they are what locks a guesser out).
    if outcome.counts_pending:
        with unit_of_work(TenantContext.anonymous(found.id)) as session:
            service.record_counts(session, found, body.claim_number, client, outcome)
    if outcome.result == service.LOCKED:
        raise service.Locked(outcome.retry_after)
    if outcome.result != service.VERIFIED or outcome.session is None or outcome.view is None:
        raise service.VerificationFailed()
    # Serialised here rather than re-validated through the response model: the public hot path.
    return _json(
        {"token": outcome.token, "token_type": "bearer", "expires_at": outcome.session.expires_at}
        | {"claim": outcome.view}
    )


def send_code(found: service.Insurer, number: str, client: str, locale: str) -> None:
    """The code request's work (throttle counts, the claim, the code and its SMS in the outbox), run after the
    answer is sent: the answer's timing cannot tell a registered claim number from an unknown one."""
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        service.request_code(session, found, number, client, locale)


@router.post("/otp", status_code=202, response_model=Message, responses={404: {"model": Message}})
async def request_otp(body: OtpIn, request: Request, background: BackgroundTasks) -> Any:
    """Ask for a one-time code by SMS. Always the same answer, in the same time, whether or not the claim
    exists: the code is sent after the answer, which waits for a fixed floor from the request's start."""
    started = service.OTP_ANSWER_FLOOR.start()
    found = _insurer(body.insurer)
    background.add_task(send_code, found, body.claim_number, client_address(request), request_locale(request))
    await service.OTP_ANSWER_FLOOR.wait(started)
    return JSONResponse(status_code=202, content=OTP_SENT, background=background)


@router.get("/claim", response_model=ClaimOut, responses={401: {"model": Message}})
def get_claim(request: Request) -> Any:
    """The claim of the bearer token (and nothing else)."""
    lookup_session = _session(request)
    with unit_of_work(TenantContext.anonymous(lookup_session.tenant_id, read_only=True)) as session:
        claim = service.session_claim(session, lookup_session)
        found = service.insurer_by_id(session, lookup_session.tenant_id)
        if claim is None or found is None:
            raise service.NoLookupSession()
        return _json(service.claim_view(session, claim, found, request_locale(request)))


@router.post(
    "/claim/documents",
    status_code=201,
    response_model=UploadOut,
    responses={
        200: {"description": "the same content was already received for this item"},
        401: {"model": Message},
        413: {"description": "file larger than CLAIMWATCH_MAX_DOCUMENT_BYTES"},
        415: {"description": "content type not accepted, or content not of the declared type"},
        422: {"description": "unknown item, or the virus scan refused the file"},
    },
)
def post_document(
    request: Request,
    item_code: str = Form(..., max_length=64),
    file: UploadFile = File(..., description="PDF, JPEG, PNG, HEIC/HEIF, TIFF, WebP or OFD"),
) -> Any:
    """Upload a missing document of the token's claim."""
    lookup_session = _session(request)
    locale = request_locale(request)
    # A refused file raises (a Problem) and the unit of work rolls back: nothing of it is kept.
    with unit_of_work(TenantContext.anonymous(lookup_session.tenant_id)) as session:
        claim = service.session_claim(session, lookup_session)
        if claim is None:
            raise service.NoLookupSession()
        stored, created = service.upload(session, claim, item_code, file.filename, file.content_type, file.file)
        view = materials_service.materials_view(session, claim, locale)
        label = materials_service.item_label(claim.line, item_code, locale)
        missing = [
            {"code": code, "label": materials_service.item_label(claim.line, code, locale)} for code in view["missing"]
        ]
    body = UploadOut.model_validate(
        stored | {"status": "stored" if created else "duplicate", "item_label": label, "missing": missing}
    )
    return JSONResponse(status_code=201 if created else 200, content=body.model_dump(mode="json"))
