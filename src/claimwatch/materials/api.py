"""Materials routes (thin): the claim's checklist and notices, its profile, and document uploads.
Refusals are raised (``Problem``) and answered by the app's handler; the request's transaction rolls
back, so nothing of a refused request is written."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.api import ClaimReader
from claimwatch.materials import service
from claimwatch.materials.schemas import DocumentAck, MaterialsOut, NoticeIn, NoticeOut, ProfileIn

router = APIRouter(prefix="/api/v1", tags=["materials"])

# Who may set profiles, issue notices and upload: the people and systems that work claims.
WriterDep = Annotated[Principal, Depends(require(Permission.EDIT_MATERIALS))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "role may not change claim materials"},
    404: {"description": "unknown claim (another tenant's claim is unknown)"},
    409: {"description": "no profile yet, nothing missing, or no checklist for the line"},
    422: {"description": "invalid field (named in 'problems')"},
}


@router.get("/claims/{number}/materials", response_model=MaterialsOut, responses=_ERRORS)
def get_materials(
    number: str,
    request: Request,
    session: ClaimReader,
    _: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> Any:
    """The claim's checklist, what was received and what is missing, the notices and supplement rounds.
    A regulator names the insurer (``?tenant=CODE``)."""
    claim = cases_service.get_claim(session, number)
    return service.materials_view(session, claim, request_locale(request))


@router.put("/claims/{number}/materials/profile", response_model=MaterialsOut, responses=_ERRORS)
def put_profile(number: str, body: ProfileIn, request: Request, principal: WriterDep, session: TenantSession) -> Any:
    """Set the claim type and facts; the checklist and what is missing follow from them."""
    claim = cases_service.get_claim(session, number)
    service.set_profile(session, claim, body.claim_type, body.facts, principal.actor)
    return service.materials_view(session, claim, request_locale(request))


@router.post("/claims/{number}/materials/notices", status_code=201, response_model=NoticeOut, responses=_ERRORS)
def post_notice(
    number: str, request: Request, principal: WriterDep, session: TenantSession, body: NoticeIn | None = None
) -> Any:
    """Issue a missing-materials notice listing every missing item at once (一次性告知). Round 1 is the
    one-time notice; later rounds count as supplements and are flagged when they ask for an item
    that was already knowable at the first notice."""
    body = body or NoticeIn()
    claim = cases_service.get_claim(session, number)
    notice = service.issue_notice(session, claim, principal.actor, body.issued_at, body.items)
    view = service.materials_view(session, claim, request_locale(request))
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
    principal: WriterDep,
    session: TenantSession,
    item_code: str = Form(..., max_length=64, description="the checklist item this document is for"),
    file: UploadFile = File(..., description="PDF, JPEG, PNG, HEIC/HEIF, TIFF, WebP or OFD"),
) -> Any:
    """Upload a document for a checklist item. The file is stored by its SHA-256, which goes into the
    tenant's audit chain."""
    claim = cases_service.get_claim(session, number)
    # Cheap refusals first, so a bad request costs no copy of the file.
    service.check_content_type(file.content_type)
    service.check_item_code(session, claim, item_code)
    staged = service.stage_upload(file.file)
    try:
        document, created = service.store_document(
            session, claim, principal.actor, item_code, file.filename, file.content_type, staged
        )
    finally:
        staged.discard()  # a no-op once the file is in place
    shown = service.document_dict(document, request_locale(request), claim.line)
    ack = DocumentAck.model_validate(shown | {"status": "stored" if created else "duplicate"})
    return JSONResponse(status_code=201 if created else 200, content=ack.model_dump(mode="json"))
