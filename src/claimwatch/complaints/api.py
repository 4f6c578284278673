"""Complaint routes (thin): intake, the queue, the complaint, staff actions, CSV import, monthly volumes.

Reading needs VIEW_COMPLAINTS (regulators read across insurers and name the tenant), acting needs
HANDLE_COMPLAINTS, volumes need MANAGE_VOLUMES. A refusal is the one error body naming the field (the
services raise, the app's handler answers); personal data is masked in every answer. Each request is one
transaction (``TenantSession``): a refused action rolls back and leaves nothing behind.

``/complaints/keywords`` and the other fixed paths are declared before ``/complaints/{number}``, which
would otherwise take them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.access.schemas import UnmaskIn, UnmaskOut
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import importer, intake, keywords, queries, schemas, service
from claimwatch.complaints.vocabulary import (
    CHANNEL_LABELS,
    CHANNELS,
    MAJOR_REASON_LABELS,
    MAJOR_REASONS,
    ComplaintError,
    categories,
    label,
)
from claimwatch.errors import Problem
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["complaints"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown complaint (another insurer's complaint is unknown)"},
    409: {"description": "not allowed in the complaint's status or by its deadline"},
    422: {"description": "invalid field (named in 'problems')"},
}
MAX_IMPORT_BYTES = importer.MAX_IMPORT_BYTES


def _read_context(session: Session, principal: Principal, tenant: str | None) -> int | None:
    """The tenant whose complaint is read: the caller's own; a regulator may name one (``?tenant=CODE``)."""
    if not principal.is_regulator:
        return principal.tenant_id
    if tenant is None:
        return None
    found = tenancy_repository.tenant_by_code(session, tenant)
    if found is None:
        raise ComplaintError(404, "tenant", f"no insurer {tenant!r}")
    return found.id


def _view(session: Session, number: str, request: Request, principal: Principal, tenant_id: int | None) -> Any:
    complaint = queries.get_complaint(session, number, tenant_id)
    return jsonable_encoder(queries.complaint_view(session, complaint, request_locale(request), principal))


@router.post("/complaints", status_code=201, responses={**_ERRORS, 200: {"description": "external_ref known"}})
def post_complaint(
    body: schemas.ComplaintIn,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.HANDLE_COMPLAINTS)),
) -> Any:
    """Record a complaint from any channel. Answers the complaint as the page shows it (masked); an
    ``external_ref`` seen before answers 200 with the complaint already recorded."""
    complaint, created = intake.intake(session, principal, body)
    view = _view(session, complaint.number, request, principal, complaint.tenant_id)
    return JSONResponse(status_code=201 if created else 200, content=view)


@router.get("/complaints", responses=_ERRORS, summary="The complaint queue, nearest deadline first")
def get_queue(
    request: Request,
    status: str | None = Query(None, description="one status (default: every open one)"),
    category: str | None = None,
    channel: str | None = None,
    overdue: bool = Query(False, description="only complaints past a deadline"),
    include_closed: bool = False,
    limit: int = Query(200, ge=1, le=2000),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    *,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_COMPLAINTS)),
) -> Any:
    items = queries.queue(
        session,
        principal,
        status=status,
        category=category,
        channel=channel,
        overdue_only=overdue,
        include_closed=include_closed,
        limit=limit,
        locale=request_locale(request),
        tenant_id=_read_context(session, principal, tenant),
    )
    return jsonable_encoder(items)


@router.get("/complaints/categories", summary="Categories and sub-causes, channels, major reasons")
def get_categories(request: Request, _: Principal = Depends(require(Permission.VIEW_COMPLAINTS))) -> Any:
    locale = request_locale(request)
    return {
        "channels": [{"code": c, "label": label(CHANNEL_LABELS, c, locale)} for c in CHANNELS],
        "major_reasons": [{"code": r, "label": label(MAJOR_REASON_LABELS, r, locale)} for r in MAJOR_REASONS],
        "categories": [
            {
                "code": category.code,
                "label": category.label(locale),
                "sub_causes": [{"code": s.code, "label": s.label(locale)} for s in category.sub_causes.values()],
            }
            for category in categories().values()
        ],
    }


@router.get(
    "/complaints/keywords", responses=_ERRORS, summary="Complaint keyword trends per month (and region, category)"
)
def get_keywords(
    request: Request, session: TenantSession, principal: Principal = Depends(require(Permission.VIEW_COMPLAINTS))
) -> Any:
    """Top terms of complaint text per month with the share of complaints mentioning each and the change
    against the month before (rising first). Query: ``period_from``, ``period_to`` (YYYY-MM, default the
    last six months), ``region``, ``category``, ``top`` (1–100), and for regulators ``tenant``."""
    zone = keywords.zone_for(session, principal)
    query = keywords.KeywordQuery.from_params(request.query_params, zone, "period_from", "period_to")
    return query.run(session, principal, request_locale(request))


@router.get("/complaints/volumes", response_model=list[schemas.VolumeOut], summary="Policies and premium per month")
def get_volumes(
    since: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
    until: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
    *,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_COMPLAINTS)),
) -> Any:
    if principal.is_regulator:
        raise ComplaintError(422, "tenant", "volumes are per insurer")
    return queries.volume_views(session, since, until)


@router.put("/complaints/volumes", response_model=schemas.VolumeOut, responses=_ERRORS)
def put_volume(
    body: schemas.VolumeIn, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_VOLUMES))
) -> Any:
    """Set a month's policies in force and premium (CNY), for the insurer or one org unit."""
    row = service.set_volume(session, principal, body)
    return next(
        v
        for v in queries.volume_views(session, body.period, body.period)
        if v["period"] == row.period and v["org_code"] == body.org_code
    )


async def _posted_csv(request: Request) -> bytes:
    """The CSV, read before the route runs (the import writes, so it runs in the thread pool)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(422, "file", "no file", problems=[{"field": "file", "message": "send the CSV as 'file'"}])
        return await upload.read()
    return await request.body()


@router.post(
    "/complaints/import",
    status_code=201,
    response_model=schemas.ImportOut,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'rejects' names each"}},
)
def post_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.HANDLE_COMPLAINTS)),
    # After the principal: FastAPI solves dependencies in order, and a stranger's upload is not read.
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Import a CSV (body ``text/csv``, or multipart with a ``file`` field). All or nothing: any bad row
    and the answer is 422 naming each reject in ``problems`` (line, column, field, message) and nothing is
    recorded."""
    if len(content) > MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {MAX_IMPORT_BYTES} bytes")
    result = importer.import_csv(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())


@router.get("/complaints/{number}", responses=_ERRORS, summary="A complaint with its clocks, history and letter")
def get_complaint(
    number: str,
    request: Request,
    tenant: str | None = Query(None, description="insurer code; a regulator names it when numbers collide"),
    *,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_COMPLAINTS)),
) -> Any:
    complaint = queries.get_complaint(session, number, _read_context(session, principal, tenant))
    view = jsonable_encoder(queries.complaint_view(session, complaint, request_locale(request), principal))
    # Who saw the complainant's (masked) data: one row, in this transaction (a regulator's: in its own).
    access_api.record_view(
        session, principal, [complaint.tenant_id], access_service.COMPLAINT, complaint.number, "complaint_api"
    )
    return view


@router.post(
    "/complaints/{number}/unmask",
    response_model=UnmaskOut,
    responses=_ERRORS,
    summary="The complainant's phone or ID number in clear, with a reason (recorded in the access log)",
)
def post_unmask(
    number: str,
    body: UnmaskIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.UNMASK_PERSONAL_DATA)),
) -> JSONResponse:
    complaint = queries.get_complaint(session, number, principal.tenant_id)
    token = complaint.phone_enc if body.field == "phone" else complaint.id_number_enc
    value = access_service.unmask(
        session,
        principal,
        complaint.tenant_id,
        access_service.COMPLAINT,
        complaint.number,
        body.field,
        body.reason,
        token,
    )
    content = UnmaskOut(field=body.field, value=value).model_dump(mode="json")
    return JSONResponse(content, headers={"Cache-Control": "no-store"})


def _act(
    session: Session, number: str, request: Request, principal: Principal, action: Callable[[Session], object]
) -> Any:
    """Run one staff action and answer the complaint as it now stands (a refusal raises and rolls back)."""
    action(session)
    return _view(session, number, request, principal, principal.tenant_id)


HANDLE = Depends(require(Permission.HANDLE_COMPLAINTS))


@router.post("/complaints/{number}/accept", responses=_ERRORS, summary="受理 (stops the 12378 acceptance clock)")
def post_accept(
    number: str,
    request: Request,
    session: TenantSession,
    body: schemas.OptionalNoteIn | None = None,
    principal: Principal = HANDLE,
) -> Any:
    body = body or schemas.OptionalNoteIn()
    return _act(
        session, number, request, principal, lambda s: service.accept(s, principal, number, body.note, at=body.at)
    )


@router.post("/complaints/{number}/note", responses=_ERRORS, summary="An investigation note")
def post_note(
    number: str, body: schemas.NoteIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session, number, request, principal, lambda s: service.add_note(s, principal, number, body.note, at=body.at)
    )


@router.post("/complaints/{number}/complex", responses=_ERRORS, summary="情况复杂: 15 → 30 days")
def post_complex(
    number: str, body: schemas.ReasonIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.mark_complex(s, principal, number, body.reason, at=body.at),
    )


@router.post("/complaints/{number}/extend", responses=_ERRORS, summary="Approved extension: 30 → 60 days")
def post_extend(
    number: str, body: schemas.ExtendIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    """The caller approves (supervisor or admin); the complainant is told through the outbox, or by post
    (``notice_by_post``) when they gave no phone or email."""
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.extend(s, principal, number, body.reason, at=body.at, notice_by_post=body.notice_by_post),
    )


@router.post("/complaints/{number}/appraisal-start", responses=_ERRORS, summary="External appraisal: time excluded")
def post_appraisal_start(
    number: str, body: schemas.ReasonIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.start_appraisal(s, principal, number, body.reason, at=body.at),
    )


@router.post("/complaints/{number}/appraisal-end", responses=_ERRORS, summary="External appraisal ended")
def post_appraisal_end(
    number: str, body: schemas.ReasonIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.end_appraisal(s, principal, number, body.reason, at=body.at),
    )


@router.post("/complaints/{number}/major", responses=_ERRORS, summary="重大投诉: to the special team, staff told")
def post_major(
    number: str, body: schemas.MajorIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.mark_major(s, principal, number, body.reasons, body.reason, at=body.at),
    )


@router.post("/complaints/{number}/new-facts", responses=_ERRORS, summary="New facts: the decision clock restarts")
def post_new_facts(
    number: str, body: schemas.NoteIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session, number, request, principal, lambda s: service.new_facts(s, principal, number, body.note, at=body.at)
    )


@router.post("/complaints/{number}/withdraw", responses=_ERRORS, summary="Withdrawn by the complainant: closes")
def post_withdraw(
    number: str, body: schemas.ReasonIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session, number, request, principal, lambda s: service.withdraw(s, principal, number, body.reason, at=body.at)
    )


@router.post("/complaints/{number}/decide", responses=_ERRORS, summary="The decision and its letter")
def post_decide(
    number: str, body: schemas.DecideIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    decision = schemas.DecisionIn.model_validate(body.model_dump(exclude={"at"}))
    return _act(
        session, number, request, principal, lambda s: service.decide(s, principal, number, decision, at=body.at)
    )


@router.post("/complaints/{number}/review-request", responses=_ERRORS, summary="核查 application (30 days)")
def post_review_request(
    number: str, body: schemas.ReviewRequestIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.request_review(s, principal, number, body.note, body.received_at),
    )


@router.post("/complaints/{number}/review-decision", responses=_ERRORS, summary="The review decision")
def post_review_decision(
    number: str, body: schemas.ReviewDecisionIn, request: Request, session: TenantSession, principal: Principal = HANDLE
) -> Any:
    return _act(
        session,
        number,
        request,
        principal,
        lambda s: service.decide_review(s, principal, number, body.outcome, body.note, at=body.at),
    )


@router.post("/complaints/{number}/close", responses=_ERRORS, summary="Close a decided or reviewed complaint")
def post_close(
    number: str,
    request: Request,
    session: TenantSession,
    body: schemas.OptionalNoteIn | None = None,
    principal: Principal = HANDLE,
) -> Any:
    body = body or schemas.OptionalNoteIn()
    return _act(
        session, number, request, principal, lambda s: service.close(s, principal, number, body.note, at=body.at)
    )
