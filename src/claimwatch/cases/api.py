"""Claims routes (thin): event ingestion, the claims list and a claim with its timeline. Refusals are
raised (``Problem``) and answered by the app's handler; the request's transaction rolls back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.access.schemas import UnmaskIn, UnmaskOut
from claimwatch.auth.deps import TenantSession, current_principal, request_locale, request_unit_of_work, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import repository, service
from claimwatch.cases.schemas import (
    MAX_PAGE,
    TENANT_CODE_MAX,
    BatchAck,
    ClaimDetail,
    ClaimPage,
    EventAck,
    EventBatch,
    EventIn,
    TimelineEntry,
)
from claimwatch.db import TenantContext, tenant_context, unit_of_work
from claimwatch.errors import Invalid, Problem
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["claims"])


async def claim_reader(
    principal: Principal = Depends(current_principal),
    tenant: str | None = Query(None, max_length=TENANT_CODE_MAX, description="tenant code; required for a regulator"),
) -> AsyncIterator[Session]:
    """The session one claim is read in: the caller's tenant's, or for a regulator a read-only session
    narrowed to the insurer it names (claim numbers are unique per insurer only). A request
    dependency like ``tenant_session``, so it opens its own unit of work; read-only for a regulator."""
    context = principal.context()
    if principal.is_regulator:
        if not tenant:
            raise Invalid("tenant", "a regulator must name the tenant of the claim")
        tenant_id = await run_in_threadpool(_tenant_id_of, context, tenant)
        if tenant_id is None:
            raise service.ClaimNotFound(f"no insurer {tenant!r}")
        context = TenantContext.regulator_of(tenant_id)
    async with request_unit_of_work(context) as session:
        yield session


def _tenant_id_of(context: TenantContext, code: str) -> int | None:
    with unit_of_work(context) as session:
        found = tenancy_repository.tenant_by_code(session, code)
        return found.id if found is not None else None


# A claim's session, for the routes that read one claim (``?tenant=CODE`` for a regulator).
ClaimReader = Annotated[Session, Depends(claim_reader, scope="function")]

_EVENT_EXAMPLE = {
    "event_id": "core-000123",
    "claim_number": "CLM2026000123",
    "type": "transition",
    "to_status": "accepted",
    "occurred_at": "2026-11-20T09:30:00+08:00",
}


def _validation_problems(exc: ValidationError, offset_field: str = "") -> list[dict[str, Any]]:
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        index = None
        if location and location[0] == "events" and len(location) > 1 and location[1].isdigit():
            index = int(location[1])
            location = location[2:]
        problems.append(
            {"index": index, "field": ".".join(location) or offset_field or "body", "message": error["msg"]}
        )
    return problems


@router.post(
    "/events",
    response_model=BatchAck,
    summary="Ingest one event or a batch ({'events': [...]})",
    responses={
        400: {"description": "malformed body"},
        403: {"description": "wrong tenant or role"},
        404: {"description": "unknown claim"},
        409: {"description": "event id reused with other content, or claim already reported"},
        413: {"description": "batch larger than CLAIMWATCH_MAX_BATCH_EVENTS"},
        422: {"description": "invalid event (transition, field) — nothing of the batch is written"},
    },
)
def post_events(
    session: TenantSession,
    body: Any = Body(
        ..., openapi_examples={"single": {"value": _EVENT_EXAMPLE}, "batch": {"value": {"events": [_EVENT_EXAMPLE]}}}
    ),
    principal: Principal = Depends(require(Permission.INGEST_EVENTS)),
) -> JSONResponse:
    """A rejected batch raises ``IngestRejected`` (its status, a problem per event with its ``index``);
    nothing of it is written. An accepted one commits before the acknowledgement is sent."""
    if not isinstance(body, dict):
        raise Problem(400, "body", "body must be a JSON object: one event or {'events': [...]}")
    try:
        if "events" in body:
            limit = service.get_settings().max_batch_events
            raw_events = body["events"]
            # Counted before validation so an oversize batch costs no parsing.
            if isinstance(raw_events, list) and len(raw_events) > limit:
                problem = service.EventProblem(
                    0, None, "events", f"batch has {len(raw_events)} events; the limit is {limit}"
                )
                raise service.BatchTooLarge(413, [problem])
            events = EventBatch.model_validate(body).events
            single = False
        else:
            events = [EventIn.model_validate(body)]
            single = True
    except ValidationError as exc:
        raise Invalid("body", "invalid event", problems=_validation_problems(exc)) from exc
    acks = service.ingest_events(session, principal, events)
    applied = sum(1 for ack in acks if ack.status == "applied")
    result = BatchAck(
        applied=applied,
        duplicates=len(acks) - applied,
        results=[
            EventAck(event_id=a.event_id, claim_number=a.claim_number, status=a.status, audit_seq=a.audit_seq)
            for a in acks
        ],
    )
    status = 201 if applied else 200
    if single:
        return JSONResponse(status_code=status, content=result.results[0].model_dump(mode="json"))
    return JSONResponse(status_code=status, content=result.model_dump(mode="json"))


@router.get("/claims", response_model=ClaimPage)
def get_claims(
    request: Request,
    session: TenantSession,
    status: str | None = None,
    line: str | None = None,
    region: str | None = None,
    number: str | None = None,
    route: Literal["normal", "fast_track", "green", "manual_review"] | None = Query(
        None, description="the triage route (claims.route)"
    ),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(50, ge=1, le=500),
    _: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> dict[str, Any]:
    filters = repository.ClaimFilter(status=status, line=line, region_code=region, number=number, route=route)
    return service.list_claims(session, filters, page, page_size, request_locale(request))


@router.get("/claims/{number}")
def get_claim(
    number: str,
    request: Request,
    session: ClaimReader,
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> dict[str, Any]:
    claim, events = service.claim_with_timeline(session, number, request_locale(request))
    # Who saw the claimant's (masked) data: one row, in this transaction (a regulator's: in its own).
    tenant_id = tenant_context(session).tenant_id
    access_api.record_view(session, principal, [tenant_id], access_service.CLAIM, claim["number"], "claim_api")
    return {
        "claim": ClaimDetail.model_validate(claim).model_dump(mode="json"),
        "timeline": [TimelineEntry.model_validate(e).model_dump(mode="json") for e in events],
    }


@router.post(
    "/claims/{number}/unmask",
    response_model=UnmaskOut,
    summary="The claimant's phone or ID number in clear, with a reason (recorded in the access log)",
    responses={403: {"description": "the role may not unmask"}, 404: {"description": "unknown claim or no value"}},
)
def post_unmask(
    number: str,
    body: UnmaskIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.UNMASK_PERSONAL_DATA)),
) -> JSONResponse:
    claim = service.get_claim(session, number)
    token = claim.claimant_phone_enc if body.field == "phone" else claim.claimant_id_number_enc
    value = access_service.unmask(
        session, principal, claim.tenant_id, access_service.CLAIM, claim.number, body.field, body.reason, token
    )
    content = UnmaskOut(field=body.field, value=value).model_dump(mode="json")
    return JSONResponse(content, headers={"Cache-Control": "no-store"})
