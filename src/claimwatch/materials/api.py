"""Materials routes (thin): the claim's checklist and notices, its profile, and document uploads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import current_principal, request_locale, require
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials import service
from claimwatch.materials.schemas import DocumentAck, MaterialsOut, NoticeIn, NoticeOut, ProfileIn
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["materials"])

# Who may set profiles, issue notices and upload: the people and systems that work claims.
WRITERS = frozenset({Role.ADJUSTER, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION})

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "role may not change claim materials"},
    404: {"description": "unknown claim (another tenant's claim is unknown)"},
    409: {"description": "no profile yet, nothing missing, or no checklist for the line"},
    422: {"description": "invalid field (named in 'problems')"},
}


def writer(principal: Principal = Depends(current_principal)) -> Principal:
    if principal.role not in WRITERS:
        raise HTTPException(status_code=403, detail=f"role {principal.role.value!r} may not change claim materials")
    return principal


def _problem(exc: service.MaterialsError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status,
        content={"detail": str(exc), "problems": [{"field": exc.field, "message": exc.message}]},
    )


def _not_found(number: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": f"no claim {number}"})


def _read_context(principal: Principal, tenant: str | None) -> TenantContext | None:
    """The caller's tenant; a regulator names the insurer (claim numbers are unique per insurer)."""
    context = principal.context()
    if context.tenant_id is not None:
        return context
    if not tenant:
        raise HTTPException(status_code=422, detail="tenant: a regulator must name the tenant of the claim")
    with unit_of_work(context) as session:
        found = tenancy_repository.tenant_by_code(session, tenant)
        tenant_id = found.id if found is not None else None
    return None if tenant_id is None else TenantContext(tenant_id=tenant_id, read_only=True)


@router.get("/claims/{number}/materials", response_model=MaterialsOut, responses=_ERRORS)
def get_materials(
    number: str,
    request: Request,
    tenant: str | None = Query(None, description="tenant code; required for a regulator"),
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> Any:
    """The claim's checklist, what was received and what is missing, the notices and supplement rounds."""
    context = _read_context(principal, tenant)
    if context is None:
        return _not_found(number)
    try:
        with unit_of_work(context) as session:
            claim = cases_service.get_claim(session, number)
            return service.materials_view(session, claim, request_locale(request))
    except cases_service.ClaimNotFound:
        return _not_found(number)


@router.put("/claims/{number}/materials/profile", response_model=MaterialsOut, responses=_ERRORS)
def put_profile(number: str, body: ProfileIn, request: Request, principal: Principal = Depends(writer)) -> Any:
    """Set the claim type and facts; the checklist and what is missing follow from them."""
    try:
        with unit_of_work(principal.context()) as session:
            claim = cases_service.get_claim(session, number)
            service.set_profile(session, claim, body.claim_type, body.facts, principal.actor)
            return service.materials_view(session, claim, request_locale(request))
    except cases_service.ClaimNotFound:
        return _not_found(number)
    except service.MaterialsError as exc:
        return _problem(exc)


@router.post("/claims/{number}/materials/notices", status_code=201, response_model=NoticeOut, responses=_ERRORS)
def post_notice(
    number: str, request: Request, body: NoticeIn | None = None, principal: Principal = Depends(writer)
) -> Any:
    """Issue a missing-materials notice listing every missing item at once (一次性告知). Round 1 is the
    one-time notice; later rounds count as supplements and are flagged when they ask for an item
    that was already knowable at the first notice."""
    body = body or NoticeIn()
    try:
        with unit_of_work(principal.context()) as session:
            claim = cases_service.get_claim(session, number)
            notice = service.issue_notice(session, claim, principal.actor, body.issued_at, body.items)
            view = service.materials_view(session, claim, request_locale(request))
    except cases_service.ClaimNotFound:
        return _not_found(number)
    except service.MaterialsError as exc:
        return _problem(exc)
    return next(n for n in view["notices"] if n["round"] == notice.round)


@router.post(
    "/claims/{number}/documents",
    status_code=201,
    response_model=DocumentAck,
    responses={
        **_ERRORS,
        200: {"description": "the same content was already received for this item"},
        413: {"description": "file larger than CLAIMWATCH_MAX_DOCUMENT_BYTES"},
        415: {"description": "content type not accepted, or content not of the declared type"},
    },
)
def post_document(
    number: str,
    request: Request,
    item_code: str = Form(..., max_length=64, description="the checklist item this document is for"),
    file: UploadFile = File(..., description="PDF, JPEG, PNG, HEIC/HEIF, TIFF, WebP or OFD"),
    principal: Principal = Depends(writer),
) -> Any:
    """Upload a document for a checklist item. The file is stored by its SHA-256, which goes into the
    tenant's audit chain."""
    staged: service.StagedFile | None = None
    try:
        with unit_of_work(principal.context()) as session:
            claim = cases_service.get_claim(session, number)
            # Cheap refusals first, so a bad request costs no copy of the file.
            service.check_content_type(file.content_type)
            service.check_item_code(session, claim, item_code)
            staged = service.stage_upload(file.file)
            document, created = service.store_document(
                session, claim, principal.actor, item_code, file.filename, file.content_type, staged
            )
            shown = service.document_dict(document, request_locale(request), claim.line)
    except cases_service.ClaimNotFound:
        return _not_found(number)
    except service.MaterialsError as exc:
        return _problem(exc)
    finally:
        if staged is not None:
            staged.discard()
    ack = DocumentAck.model_validate(shown | {"status": "stored" if created else "duplicate"})
    return JSONResponse(status_code=201 if created else 200, content=ack.model_dump(mode="json"))
