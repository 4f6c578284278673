"""The public lookup pages (no account; phone-sized first): a form for claim number + factor, the
claim of the signed lookup cookie, and the upload of missing documents. Own layout, not the staff one."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.auth.deps import request_locale
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem
from claimwatch.evidence import pages as evidence_pages
from claimwatch.evidence import service as evidence_service
from claimwatch.lookup import service
from claimwatch.lookup.api import client_address, find_insurer, send_code
from claimwatch.materials import service as materials_service
from claimwatch.providers import page_queries as providers_page_queries
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.pages import render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

COOKIE = "claimwatch_lookup"
ACCEPT = ".pdf,.jpg,.jpeg,.png,.heic,.heif,.tif,.tiff,.webp,.ofd," + ",".join(materials_service.ALLOWED_CONTENT_TYPES)

router = APIRouter(include_in_schema=False)


def _form(
    request: Request,
    fixed: service.Insurer | None,
    *,
    status_code: int = 200,
    message: str | None = None,
    claim_number: str = "",
    chosen: str = "",
    retry_minutes: int = 0,
) -> HTMLResponse:
    choices = []
    if fixed is None:
        with unit_of_work(TenantContext.regulator()) as session:  # the choice of insurer spans tenants
            choices = service.insurers(session)
    switch = f"/lookup/{quote(fixed.code)}" if fixed is not None else "/lookup"
    return render(
        request,
        "lookup/form.html",
        {
            "fixed": fixed,
            "insurers": choices,
            "chosen": chosen,
            "message": message,
            "claim_number": claim_number,
            "retry_minutes": retry_minutes,
        },
        status_code=status_code,
        switch_path=switch if request.method == "POST" else None,
    )


def _not_found(request: Request) -> HTMLResponse:
    return render(request, "lookup/error.html", {"status": 404}, status_code=404, switch_path="/lookup")


@router.get("/lookup")
def lookup_form(request: Request, insurer: str | None = None) -> Response:
    return _form(request, None, chosen=(insurer or "").upper())


@router.get("/lookup/{code}")
def insurer_form(code: str, request: Request) -> Response:
    found = find_insurer(code)
    if found is None:
        return _not_found(request)
    return _form(request, found)


def _posted_insurer(request: Request, insurer: str) -> tuple[service.Insurer | None, service.Insurer | None]:
    """The insurer of a posted form, and whether the form had it fixed (an insurer's own page)."""
    found = find_insurer(insurer) if insurer else None
    return found, found if request.query_params.get("from") == "insurer" else None


@router.post("/lookup")
def lookup_post(
    request: Request,
    insurer: Annotated[str, Form(max_length=32)] = "",
    claim_number: Annotated[str, Form(max_length=64)] = "",
    phone_last4: Annotated[str, Form(max_length=8)] = "",
    code: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
) -> Response:
    found, fixed = _posted_insurer(request, insurer)
    number = claim_number.strip()
    if not csrf_valid(request, csrf_token):
        return _form(request, fixed, status_code=403, message="csrf", claim_number=number, chosen=insurer)
    if found is None:
        return _form(request, fixed, status_code=422, message="insurer", claim_number=number, chosen=insurer)
    last4, otp = phone_last4.strip(), code.strip()
    if not number or not ((otp.isdigit() and len(otp) == 6) or (not otp and last4.isdigit() and len(last4) == 4)):
        return _form(request, fixed, status_code=422, message="invalid", claim_number=number, chosen=found.code)
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        outcome = service.verify(session, found, number, client_address(request), None if otp else last4, otp or None)
    if outcome.result == service.LOCKED:
        locked = _form(
            request,
            fixed,
            status_code=429,
            message="locked",
            claim_number=number,
            chosen=found.code,
            retry_minutes=max(1, -(-outcome.retry_after // 60)),
        )
        locked.headers["Retry-After"] = str(outcome.retry_after)
        return locked
    if outcome.result != service.VERIFIED or outcome.token is None:
        return _form(request, fixed, status_code=401, message="failed", claim_number=number, chosen=found.code)
    response = RedirectResponse(f"/lookup/{quote(found.code)}/claim", status_code=303)
    response.set_cookie(
        COOKIE,
        outcome.token,
        max_age=get_settings().lookup_session_seconds,
        path="/lookup",
        httponly=True,
        samesite="lax",
        secure=get_settings().session_cookie_secure,
    )
    return response


@router.post("/lookup/otp")
async def otp_post(
    request: Request,
    background: BackgroundTasks,
    insurer: Annotated[str, Form(max_length=32)] = "",
    claim_number: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
) -> Response:
    """As the API's code request: the code is sent after the answer, which waits for a fixed floor."""
    started = service.OTP_ANSWER_FLOOR.start()
    found, fixed = _posted_insurer(request, insurer)
    number = claim_number.strip()
    if not csrf_valid(request, csrf_token):
        return _form(request, fixed, status_code=403, message="csrf", claim_number=number, chosen=insurer)
    if found is None or not number:
        return _form(
            request,
            fixed,
            status_code=422,
            message="insurer" if found is None else "invalid",
            claim_number=number,
            chosen=insurer,
        )
    background.add_task(send_code, found, number, client_address(request), request_locale(request))
    answer = _form(request, fixed, message="otp_sent", claim_number=number, chosen=found.code)
    answer.background = background
    await service.OTP_ANSWER_FLOOR.wait(started)
    return answer


def _claim_page(
    request: Request,
    found: service.Insurer,
    *,
    status_code: int = 200,
    upload_error: str | None = None,
    dispute_error: str | None = None,
) -> Response:
    lookup_session = service.read_token(request.cookies.get(COOKIE))
    if lookup_session is None or lookup_session.tenant_id != found.id:
        return RedirectResponse(f"/lookup/{quote(found.code)}", status_code=303)
    locale = request_locale(request)
    with unit_of_work(TenantContext.anonymous(found.id, read_only=True)) as session:
        claim = service.session_claim(session, lookup_session)
        if claim is None:
            return RedirectResponse(f"/lookup/{quote(found.code)}", status_code=303)
        view = service.claim_view(session, claim, found, locale)
        # What the claim waits for: the same answer the staff's claim page gives.
        awaited = materials_service.awaited(session, claim, locale)
        # What it waits for from a third party (appraisal, medical records…), without naming anyone inside.
        provider_tasks = providers_page_queries.lookup_tasks(session, claim, locale)
        zone = tenancy_service.tenant_zone(session, found.id)
    uploaded = request.query_params.get("uploaded")
    uploaded_label = None
    if uploaded and request.method == "GET":
        uploaded_label = materials_service.item_label(view["line"], uploaded[:64], locale)
    return render(
        request,
        "lookup/claim.html",
        {
            "claim": view,
            "awaited": awaited,
            "insurer": found,
            "accept": ACCEPT,
            "max_mb": max(1, view["upload"]["max_bytes"] // (1024 * 1024)),
            "upload_error": upload_error,
            "uploaded_label": uploaded_label,
            "expires_at": lookup_session.expires_at,
            "provider_tasks": provider_tasks,
            "dispute_error": dispute_error,
            "disputed": request.method == "GET" and request.query_params.get("disputed") == "1",
        },
        status_code=status_code,
        switch_path=f"/lookup/{quote(found.code)}/claim" if request.method == "POST" else None,
        zone=zone,
    )


def _claimant(request: Request, code: str) -> tuple[service.Insurer, service.LookupSession] | Response:
    """The insurer in the path and the claimant's lookup session with it, or the page to answer instead: not
    found, or back to the lookup form (no session, or a session with another insurer)."""
    found = find_insurer(code)
    if found is None:
        return _not_found(request)
    lookup_session = service.read_token(request.cookies.get(COOKIE))
    if lookup_session is None or lookup_session.tenant_id != found.id:
        return RedirectResponse(f"/lookup/{quote(found.code)}", status_code=303)
    return found, lookup_session


@router.get("/lookup/{code}/claim")
def claim_page(code: str, request: Request) -> Response:
    found = find_insurer(code)
    if found is None:
        return _not_found(request)
    return _claim_page(request, found)


@router.get("/lookup/{code}/claim/receipt")
def receipt_download(code: str, request: Request) -> Response:
    """The claimant's evidence receipt (存证回执) of their claim: its events, documents and decision entries
    with inclusion proofs in a signed tree head, as a JSON file they can check offline (``claimwatch evidence
    verify``). Writable: a receipt no signed head covers yet has one signed for it."""
    signed_in = _claimant(request, code)
    if isinstance(signed_in, Response):
        return signed_in
    found, lookup_session = signed_in
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        claim = service.session_claim(session, lookup_session)
        if claim is None:
            return RedirectResponse(f"/lookup/{quote(found.code)}", status_code=303)
        number = claim.number
        receipt = evidence_service.receipt_for_claim(session, found.id, number)
    return evidence_pages.receipt_download(receipt, f"receipt-{found.code}-{number}.json")


def _upload_error(exc: materials_service.MaterialsError) -> str:
    if isinstance(exc, service.UploadRejected):
        return "scan"
    if exc.status == 413:
        return "too_large"
    if exc.status == 415:
        return "type"
    return "empty" if exc.field == "file" else "item"


@router.post("/lookup/{code}/claim/documents")
def upload_post(
    code: str,
    request: Request,
    item_code: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    signed_in = _claimant(request, code)
    if isinstance(signed_in, Response):
        return signed_in
    found, lookup_session = signed_in
    if not csrf_valid(request, csrf_token):
        return _claim_page(request, found, status_code=403, upload_error="csrf")
    if file is None or not file.filename:
        return _claim_page(request, found, status_code=422, upload_error="empty")
    try:
        with unit_of_work(TenantContext.anonymous(found.id)) as session:
            claim = service.session_claim(session, lookup_session)
            if claim is None:
                return RedirectResponse(f"/lookup/{quote(found.code)}", status_code=303)
            service.upload(session, claim, item_code, file.filename, file.content_type, file.file)
    except materials_service.MaterialsError as exc:
        return _claim_page(request, found, status_code=exc.status, upload_error=_upload_error(exc))
    return RedirectResponse(f"/lookup/{quote(found.code)}/claim?{urlencode({'uploaded': item_code})}", status_code=303)


@router.post("/lookup/{code}/claim/tasks/{number}/dispute")
def dispute_post(
    code: str,
    number: str,
    request: Request,
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
) -> Response:
    """The claimant disputes a received third-party report of their claim (a repair estimate, an appraisal)."""
    signed_in = _claimant(request, code)
    if isinstance(signed_in, Response):
        return signed_in
    found, lookup_session = signed_in
    if not csrf_valid(request, csrf_token):
        return _claim_page(request, found, status_code=403, dispute_error="csrf")
    if not reason.strip():
        return _claim_page(request, found, status_code=422, dispute_error="reason")
    try:
        with unit_of_work(TenantContext.anonymous(found.id)) as session:
            claim = service.session_claim(session, lookup_session)
            if claim is None:
                return RedirectResponse(f"/lookup/{quote(found.code)}", status_code=303)
            providers_page_queries.claimant_dispute(session, claim, number[:32], reason)
    except Problem as exc:
        return _claim_page(request, found, status_code=exc.status, dispute_error="refused")
    return RedirectResponse(f"/lookup/{quote(found.code)}/claim?disputed=1#claim-third-parties", status_code=303)


@router.post("/lookup/{code}/logout")
def logout(
    code: str, request: Request, csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = ""
) -> Response:
    response = RedirectResponse(f"/lookup/{quote(code)}" if find_insurer(code) else "/lookup", status_code=303)
    if csrf_valid(request, csrf_token):
        response.delete_cookie(COOKIE, path="/lookup")
    return response
