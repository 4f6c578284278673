"""Service-request routes (thin): requests in (one, or a CSV all or nothing), the list with filters, one request,
and what a handler does (assign, notes, replies, wait, resume, resolve, close, reopen, cancel, escalate). Reading
needs VIEW_SERVICE_REQUESTS; everything else HANDLE_SERVICE_REQUESTS (escalation HANDLE_COMPLAINTS too). The
regulator reads no insurer's requests (403); another insurer's request is unknown (404). One transaction each."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.params import checked_date
from claimwatch.privacy import field_cipher, mask_id_number, mask_phone
from claimwatch.servicedesk import categories, clocks, importer, repository, service
from claimwatch.servicedesk.models import ServiceRequest
from claimwatch.servicedesk.schemas import (
    AssignIn,
    EscalateIn,
    ReasonIn,
    ReplyIn,
    RequestNumber,
    RequestOut,
    RequestPageOut,
    ResolveIn,
    ServiceRequestIn,
    TextIn,
)
from claimwatch.tenancy import service as tenancy_service

router = APIRouter(tags=["service requests"])
BASE = "/api/v1/service-requests"
STATUS_FILTERS = ("open", "all", *service.STATUSES)
PAGE_SIZE = 50

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (the regulator; a reader)"},
    404: {"description": "unknown request (another insurer's is unknown too)"},
    409: {"description": "not possible in the request's state (closed, cancelled, escalated already)"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _insurer(principal: Principal) -> Principal:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "service requests belong to one insurer")
    return principal


def _viewer(principal: Principal = Depends(require(Permission.VIEW_SERVICE_REQUESTS))) -> Principal:
    return _insurer(principal)


def _handler(principal: Principal = Depends(require(Permission.HANDLE_SERVICE_REQUESTS))) -> Principal:
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
HandlerDep = Annotated[Principal, Depends(_handler)]


def _item(request: ServiceRequest, handlers: dict[int, str]) -> dict[str, Any]:
    return {
        "number": request.number,
        "channel": request.channel,
        "category": request.category,
        "priority": request.priority,
        "subject": request.subject,
        "status": request.status,
        "team": request.team,
        "handler": handlers.get(request.handler_id or 0),
        "received_at": request.received_at,
        "first_response_at": request.first_response_at,
        "resolved_at": request.resolved_at,
        "peak": request.peak_period_id is not None,
    }


def view(session: Session, request: ServiceRequest) -> dict[str, Any]:
    """One request as the API answers: the customer masked, its clocks and history."""
    cipher = field_cipher()
    handlers = repository.usernames(session, [request.handler_id])
    return _item(request, handlers) | {
        "external_ref": request.external_ref,
        "description": request.description,
        "keywords": (request.keywords or "").split(),
        "customer_name": request.customer_name_masked,
        "customer_phone": mask_phone(cipher.decrypt(request.phone_enc)) or None,
        "customer_id_number": mask_id_number(cipher.decrypt(request.id_number_enc)) or None,
        "policy_number": request.policy_number,
        "claim_number": repository.claim_numbers(session, [request.claim_id]).get(request.claim_id or 0),
        "complaint_number": repository.complaint_number(session, request.complaint_id),
        "org_code": repository.org_code(session, request.org_unit_id),
        "closed_at": request.closed_at,
        "resolution_code": request.resolution_code,
        "resolution_note": request.resolution_note,
        "first_contact_resolved": request.first_contact_resolved,
        "peak_period_id": request.peak_period_id,
        "articles_used": list(request.articles_used or []),
        "clocks": clocks.views_for(session, request, utc_now()),
        "events": [
            {
                "kind": e.kind,
                "actor": e.actor,
                "at": e.at,
                "text": e.text,
                "message_id": e.message_id,
                "detail": e.detail or {},
            }
            for e in repository.events_of(session, request.id)
        ],
    }


def _answer(session: Session, request: ServiceRequest, status: int = 200) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder(RequestOut.model_validate(view(session, request))))


@router.post(BASE, status_code=201, response_model=RequestOut, responses=_ERRORS)
def post_request(body: ServiceRequestIn, principal: HandlerDep, session: TenantSession) -> Any:
    """A request from the core system or a channel (channel default ``api``): numbered, linked, clocks started. A
    known ``external_ref`` answers 200 with the request as it is."""
    request, created = service.intake(session, principal, body, channel="api")
    return _answer(session, request, 201 if created else 200)


@router.post(
    f"{BASE}/import",
    status_code=201,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
)
def post_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: HandlerDep,
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Requests from CSV (body ``text/csv`` or multipart ``file``), all or nothing: columns channel, received_at,
    external_ref, category, priority, subject, description, name, phone, id_number, policy_number, claim_number,
    org_code (or their Chinese headers)."""
    if len(content) > importer.MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {importer.MAX_IMPORT_BYTES} bytes")
    result = importer.import_csv(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())


@router.get(BASE, response_model=RequestPageOut, responses=_ERRORS)
def get_requests(
    principal: ViewerDep,
    session: TenantSession,
    status: str = Query("open", max_length=24, description="open (open, in progress, waiting), all, or a status"),
    category: str = Query("", max_length=32),
    priority: str = Query("", max_length=16),
    team: str = Query("", max_length=32),
    handler: str = Query("", max_length=64, description="a handler's username"),
    mine: bool = Query(False, description="only the requests assigned to me"),
    unassigned: bool = Query(False),
    channel: str = Query("", max_length=16),
    received_from: dt.date | None = Query(None, description="local date, inclusive"),
    received_to: dt.date | None = Query(None, description="local date, inclusive"),
    page: int = Query(1, ge=1, le=10_000),
) -> Any:
    """The requests the filters keep, newest first (the queue page orders them by nearest deadline)."""
    tenant_id = service.tenant_of(principal)
    catalogue = categories.for_tenant(session, tenant_id)
    if status not in STATUS_FILTERS:
        raise Invalid("status", f"status must be one of {', '.join(STATUS_FILTERS)}")
    if category and category not in catalogue.categories:
        raise Invalid("category", f"unknown category {category!r} (known: {', '.join(catalogue.categories)})")
    if priority and priority not in catalogue.priorities:
        raise Invalid("priority", f"unknown priority {priority!r} (known: {', '.join(catalogue.priorities)})")
    if team and team not in catalogue.teams:
        raise Invalid("team", f"unknown team {team!r} (known: {', '.join(catalogue.teams)})")
    if channel and channel not in service.CHANNELS:
        raise Invalid("channel", f"unknown channel {channel!r} (known: {', '.join(service.CHANNELS)})")
    handler_id = principal.user_id if mine else None
    if handler:
        user = repository.tenant_user(session, tenant_id, handler)
        if user is None:
            raise Invalid("handler", f"no user {handler!r} at this insurer")
        handler_id = user.id
    zone = tenancy_service.tenant_zone(session, tenant_id)

    def start_of(field: str, day: dt.date) -> dt.datetime:
        # A date at the calendar's ends overflows when shifted to UTC: refused by name first.
        return dt.datetime.combine(checked_date(field, day), dt.time(), tzinfo=zone).astimezone(dt.UTC)

    statuses = service.OPEN_STATUSES if status == "open" else () if status == "all" else (status,)
    filters = repository.Filters(
        statuses=statuses,
        category=category or None,
        priority=priority or None,
        team=team or None,
        handler_id=handler_id,
        unassigned=unassigned,
        channel=channel or None,
        received_from=start_of("received_from", received_from) if received_from else None,
        received_to=start_of("received_to", checked_date("received_to", received_to) + dt.timedelta(days=1))
        if received_to
        else None,
    )
    total, rows = repository.listing(session, filters, page=page, size=PAGE_SIZE)
    handlers = repository.usernames(session, [row.handler_id for row in rows])
    return RequestPageOut.model_validate({"total": total, "page": page, "items": [_item(r, handlers) for r in rows]})


@router.get(f"{BASE}/{{number}}", response_model=RequestOut, responses=_ERRORS)
def get_request(number: RequestNumber, principal: ViewerDep, session: TenantSession) -> Any:
    """One request: the customer masked, its clocks and history."""
    return _answer(session, service.get_request(session, number))


@router.post(f"{BASE}/{{number}}/assign", response_model=RequestOut, responses=_ERRORS)
def post_assign(number: RequestNumber, body: AssignIn, principal: HandlerDep, session: TenantSession) -> Any:
    """Give the request to a team and/or a handler."""
    return _answer(session, service.assign(session, principal, number, team=body.team, username=body.username))


@router.post(f"{BASE}/{{number}}/notes", response_model=RequestOut, responses=_ERRORS)
def post_note(number: RequestNumber, body: TextIn, principal: HandlerDep, session: TenantSession) -> Any:
    """An internal note."""
    return _answer(session, service.note(session, principal, number, body.text))


@router.post(f"{BASE}/{{number}}/replies", response_model=RequestOut, responses=_ERRORS)
def post_reply(number: RequestNumber, body: ReplyIn, principal: HandlerDep, session: TenantSession) -> Any:
    """A reply to the customer through the outbox; the first one stops the first-response clock."""
    request = service.reply(
        session, principal, number, body.text, articles_used=body.articles_used, channels=body.channels
    )
    return _answer(session, request)


@router.post(f"{BASE}/{{number}}/wait", response_model=RequestOut, responses=_ERRORS)
def post_wait(number: RequestNumber, body: ReasonIn, principal: HandlerDep, session: TenantSession) -> Any:
    """Waiting on the customer: the clocks pause."""
    return _answer(session, service.wait_for_customer(session, principal, number, body.reason))


@router.post(f"{BASE}/{{number}}/resume", response_model=RequestOut, responses=_ERRORS)
def post_resume(number: RequestNumber, body: ReasonIn, principal: HandlerDep, session: TenantSession) -> Any:
    """The customer answered: the clocks count again."""
    return _answer(session, service.resume(session, principal, number, body.reason))


@router.post(f"{BASE}/{{number}}/resolve", response_model=RequestOut, responses=_ERRORS)
def post_resolve(number: RequestNumber, body: ResolveIn, principal: HandlerDep, session: TenantSession) -> Any:
    """Resolved with a resolution code of the request's category."""
    request = service.resolve(session, principal, number, body.resolution_code, body.note, body.first_contact_resolved)
    return _answer(session, request)


@router.post(f"{BASE}/{{number}}/close", response_model=RequestOut, responses=_ERRORS)
def post_close(number: RequestNumber, principal: HandlerDep, session: TenantSession) -> Any:
    """A resolved request closed."""
    return _answer(session, service.close(session, principal, number))


@router.post(f"{BASE}/{{number}}/reopen", response_model=RequestOut, responses=_ERRORS)
def post_reopen(number: RequestNumber, body: ReasonIn, principal: HandlerDep, session: TenantSession) -> Any:
    """A resolved or closed request reopened (reason required)."""
    return _answer(session, service.reopen(session, principal, number, body.reason or ""))


@router.post(f"{BASE}/{{number}}/cancel", response_model=RequestOut, responses=_ERRORS)
def post_cancel(number: RequestNumber, body: ReasonIn, principal: HandlerDep, session: TenantSession) -> Any:
    """Cancelled (reason required): the clocks end without a result."""
    return _answer(session, service.cancel(session, principal, number, body.reason or ""))


@router.post(f"{BASE}/{{number}}/escalate", response_model=RequestOut, responses=_ERRORS)
def post_escalate(number: RequestNumber, body: EscalateIn, principal: HandlerDep, session: TenantSession) -> Any:
    """Escalated into a complaint (a complaint category and sub-cause); the request keeps the link."""
    service.escalate_to_complaint(session, principal, number, body.category, body.sub_cause)
    return _answer(session, service.get_request(session, number))
