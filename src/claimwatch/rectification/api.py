"""Rectification routes (thin): the board's list with filters, one rectification, its transitions and
evidence uploads. Reading needs VIEW_RECTIFICATIONS (quality roles: the whole tenant; others their org
subtree); the owner's steps need WORK_RECTIFICATIONS (and being the owner or a supervisor of its unit);
acceptance needs ACCEPT_RECTIFICATIONS. A transition from the wrong state is a 409 naming the state. Each
request is one transaction: a refusal leaves nothing behind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.materials import service as materials_service
from claimwatch.params import RowId
from claimwatch.rectification import queries, schemas, service

router = APIRouter(prefix="/api/v1/rectifications", tags=["rectification"])

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_RECTIFICATIONS))]
WorkerDep = Annotated[Principal, Depends(require(Permission.WORK_RECTIFICATIONS))]
AcceptorDep = Annotated[Principal, Depends(require(Permission.ACCEPT_RECTIFICATIONS))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this, or the caller is not the owner (field 'owner')"},
    404: {"description": "unknown rectification (another insurer's, or outside the caller's org subtree)"},
    409: {"description": "not possible in the rectification's state (field 'status', the state named)"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _view(session: TenantSession, request: Request, principal: Principal, rectification_id: RowId) -> Any:
    found = queries.detail(session, principal, rectification_id, request_locale(request), utc_now())
    return jsonable_encoder(schemas.RectificationOut.model_validate(found))


@router.get("", response_model=list[schemas.BoardItemOut], responses=_ERRORS)
def list_rectifications(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    status: str = Query("", max_length=32, description="a state; empty: every open one; 'all'"),
    severity: str = Query("", max_length=8, description="minor | major | severe"),
    overdue: bool = Query(False, description="only those with a deadline passed"),
    mine: bool = Query(False, description="only those I own"),
    source_kind: str = Query("", max_length=32, description="e.g. inspection_finding"),
    limit: int = Query(queries.BOARD_LIMIT, ge=1, le=1000),
) -> Any:
    """The rectifications the caller may see, overdue first (red, yellow), then by the nearest deadline."""
    query = queries.BoardQuery(status, severity, overdue, mine, source_kind, limit)
    found = queries.board(session, principal, query, request_locale(request), utc_now())
    return [schemas.BoardItemOut.model_validate(item, from_attributes=True) for item in found.items]


@router.get("/{rectification_id}", response_model=schemas.RectificationOut, responses=_ERRORS)
def get_rectification(rectification_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """One rectification: source, owner, state, clocks (due dates UTC; provisional = 暂定), timeline, evidence,
    and the actions the caller may take now."""
    return _view(session, request, principal, rectification_id)


@router.post("/{rectification_id}/plan", response_model=schemas.RectificationOut, responses=_ERRORS)
def post_plan(
    rectification_id: RowId, body: schemas.PlanIn, request: Request, principal: WorkerDep, session: TenantSession
) -> Any:
    """Submit the rectification plan (open → plan_submitted); the plan clock stops."""
    service.submit_plan(session, principal, rectification_id, body.plan)
    return _view(session, request, principal, rectification_id)


@router.post("/{rectification_id}/progress", response_model=schemas.RectificationOut, responses=_ERRORS)
def post_progress(
    rectification_id: RowId, body: schemas.NoteIn, request: Request, principal: WorkerDep, session: TenantSession
) -> Any:
    """Record progress (plan_submitted | in_progress | sent_back → in_progress)."""
    service.record_progress(session, principal, rectification_id, body.note)
    return _view(session, request, principal, rectification_id)


@router.post("/{rectification_id}/submit", response_model=schemas.RectificationOut, responses=_ERRORS)
def post_submit(
    rectification_id: RowId, body: schemas.NoteIn, request: Request, principal: WorkerDep, session: TenantSession
) -> Any:
    """Submit for acceptance (in_progress → submitted_for_acceptance); the quality managers are told."""
    service.submit_for_acceptance(session, principal, rectification_id, body.note)
    return _view(session, request, principal, rectification_id)


@router.post("/{rectification_id}/accept", response_model=schemas.RectificationOut, responses=_ERRORS)
def post_accept(
    rectification_id: RowId,
    request: Request,
    principal: AcceptorDep,
    session: TenantSession,
    body: schemas.OptionalNoteIn | None = None,
) -> Any:
    """Accept (验收通过: submitted_for_acceptance → accepted); the acceptance clock stops."""
    service.accept(session, principal, rectification_id, body.note if body else None)
    return _view(session, request, principal, rectification_id)


@router.post("/{rectification_id}/send-back", response_model=schemas.RectificationOut, responses=_ERRORS)
def post_send_back(
    rectification_id: RowId, body: schemas.ReasonIn, request: Request, principal: AcceptorDep, session: TenantSession
) -> Any:
    """Send back with a reason (submitted_for_acceptance → sent_back); the owner is told."""
    service.send_back(session, principal, rectification_id, body.reason)
    return _view(session, request, principal, rectification_id)


@router.post("/{rectification_id}/close", response_model=schemas.RectificationOut, responses=_ERRORS)
def post_close(
    rectification_id: RowId,
    request: Request,
    principal: AcceptorDep,
    session: TenantSession,
    body: schemas.OptionalNoteIn | None = None,
) -> Any:
    """Close an accepted rectification (accepted → closed)."""
    service.close(session, principal, rectification_id, body.note if body else None)
    return _view(session, request, principal, rectification_id)


@router.post(
    "/{rectification_id}/evidence",
    status_code=201,
    response_model=schemas.EvidenceAck,
    responses={
        **_ERRORS,
        200: {"description": "the same content was already received for this step"},
        413: {"description": "file larger than CLAIMWATCH_MAX_DOCUMENT_BYTES"},
        415: {"description": "content type not accepted, or content not of the declared type"},
    },
)
def post_evidence(
    rectification_id: RowId,
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    file: UploadFile = File(..., description="PDF, JPEG, PNG, HEIC/HEIF, TIFF, WebP or OFD"),
    step: str | None = Form(None, max_length=16, description="plan | progress | acceptance (default: the current)"),
    note: str | None = Form(None, max_length=1000),
) -> Any:
    """Upload evidence for a step. The file is stored by its SHA-256, which goes into the audit chain."""
    # Cheap refusals first, so a bad request costs no copy of the file.
    service.check_upload(session, principal, rectification_id, step or None)
    materials_service.check_content_type(file.content_type)
    staged = materials_service.stage_upload(file.file)
    try:
        item, created = service.add_evidence(
            session,
            principal,
            rectification_id,
            filename=file.filename,
            content_type=file.content_type,
            staged=staged,
            step=step or None,
            note=note,
        )
    finally:
        staged.discard()
    found = queries.detail(session, principal, rectification_id, request_locale(request), utc_now())
    shown = next(e for e in found["evidence"] if e["id"] == item.id)
    ack = schemas.EvidenceAck.model_validate(shown | {"status": "stored" if created else "duplicate"})
    return JSONResponse(status_code=201 if created else 200, content=jsonable_encoder(ack))
