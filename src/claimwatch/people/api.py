"""Staff register API (thin): staff members and agents (list with filters, record, read, change, leaving), their
licences (list, add, revoke with a reason), the licences expiring soon, and the CSV import (all or nothing: 422
naming each reject). Another insurer's person, or one the caller may not see, is unknown (404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.schemas import IDENTIFIER_PATTERN
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.errors import Problem
from claimwatch.params import RowId
from claimwatch.people import page_queries, service, staff_import
from claimwatch.people.schemas import LicenceIn, RevokeIn, StaffIn, StaffUpdate

router = APIRouter(prefix="/api/v1/people", tags=["people"])

VIEW = Depends(require(Permission.VIEW_PEOPLE))
MANAGE = Depends(require(Permission.MANAGE_PEOPLE))
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown person or licence (another insurer's, or one you may not see, is unknown)"},
    409: {"description": "code or licence number already recorded; licence already revoked"},
    422: {"description": "invalid field (named in 'problems')"},
}


@router.get("/staff", responses=_ERRORS, summary="Staff and agents, filtered (org, kind, status, licence, q)")
def list_staff(request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    """``org`` an org unit's code (it and the units below), ``kind`` employee | agent, ``status`` active | left,
    ``licence`` valid | expiring | expired | none, ``q`` text in the code or name."""
    query = page_queries.ListFilter.of(request.query_params)
    return jsonable_encoder(page_queries.staff_rows(session, principal, query, request_locale(request)))


@router.post("/staff", status_code=201, responses=_ERRORS, summary="Record a staff member or agent (audited)")
def post_staff(body: StaffIn, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Any:
    staff = service.create_staff(session, principal, body)
    return jsonable_encoder(page_queries.person_view(session, staff, request_locale(request)))


@router.get("/staff/{code}", responses=_ERRORS, summary="One person: details, licences with their state")
def get_staff(code: CodePath, request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    staff = service.visible_staff(session, principal, code)
    return jsonable_encoder(page_queries.person_view(session, staff, request_locale(request)))


@router.patch("/staff/{code}", responses=_ERRORS, summary="Change a person; left_on records the leaving (audited)")
def patch_staff(
    code: CodePath, body: StaffUpdate, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    staff = service.update_staff(session, principal, code, body)
    return jsonable_encoder(page_queries.person_view(session, staff, request_locale(request)))


@router.get("/staff/{code}/licences", responses=_ERRORS, summary="A person's licences with their state today")
def get_licences(code: CodePath, request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    staff = service.visible_staff(session, principal, code)
    return jsonable_encoder(page_queries.person_view(session, staff, request_locale(request))["licences"])


@router.post("/staff/{code}/licences", status_code=201, responses=_ERRORS, summary="Add a licence (audited)")
def post_licence(
    code: CodePath, body: LicenceIn, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    """An expiry before the issue: 422 naming ``expires_on``; a number recorded for the kind: 409 naming
    ``number``."""
    licence = service.add_licence(session, principal, code, body)
    on = service.today(session, licence.tenant_id)
    return jsonable_encoder(page_queries.licence_view(licence, on, request_locale(request)))


@router.post("/staff/{code}/licences/{licence_id}/revoke", responses=_ERRORS, summary="Revoke a licence with a reason")
def post_revoke(
    code: CodePath,
    licence_id: RowId,
    body: RevokeIn,
    request: Request,
    session: TenantSession,
    principal: Principal = MANAGE,
) -> Any:
    licence = service.revoke_licence(session, principal, code, licence_id, body.reason, body.on)
    on = service.today(session, licence.tenant_id)
    return jsonable_encoder(page_queries.licence_view(licence, on, request_locale(request)))


@router.get("/licences", responses=_ERRORS, summary="Licences expiring within N days, and those just expired")
def get_expiring(
    request: Request,
    session: TenantSession,
    expiring: int = Query(30, ge=1, le=366, description="days ahead (and back, for the expired)"),
    principal: Principal = VIEW,
) -> Any:
    rows = page_queries.expiring(session, principal, expiring, request_locale(request))
    return jsonable_encoder(rows)


@router.post(
    "/staff-import",
    status_code=201,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
    summary="Import staff and licences from CSV, all or nothing",
)
def post_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: Principal = MANAGE,
    # After the principal: a stranger's upload is not read.
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Columns: code, name, kind, job_title, org_unit, username, manager, hired_on, licence_kind,
    licence_number, licence_issued_on, licence_expires_on (English or Chinese headers; UTF-8 or GB18030)."""
    if len(content) > staff_import.MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {staff_import.MAX_IMPORT_BYTES} bytes")
    result = staff_import.import_csv(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())
