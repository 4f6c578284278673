"""Training API (thin): coverage by org with the people still missing a mandatory course, a person's training
record, the rules in force, courses, sessions, attendance, and the CSV import of attendance (all or nothing:
422 naming each reject). Reading needs VIEW_PEOPLE (a supervisor: the people of their org subtree and those they
manage); writing MANAGE_PEOPLE. Another insurer's course, session or person is unknown (404)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.schemas import IDENTIFIER_PATTERN
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.complaints.schemas import ImportOut
from claimwatch.errors import NotFound, Problem
from claimwatch.params import RowId, checked_date
from claimwatch.people import repository as people_repository
from claimwatch.people import service as people_service
from claimwatch.people import training, training_import, training_queries, training_rules
from claimwatch.people.training_schemas import AttendanceIn, CourseIn, SessionIn

router = APIRouter(prefix="/api/v1/people/training", tags=["people"])

VIEW = Depends(require(Permission.VIEW_PEOPLE))
MANAGE = Depends(require(Permission.MANAGE_PEOPLE))
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
OnQuery = Annotated[dt.date | None, Query(description="the day the state is judged on (default today, local)")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown course, session or person (another insurer's is unknown)"},
    409: {"description": "already recorded"},
    422: {"description": "invalid field (named in 'problems')"},
}


def judged_on(session: Session, principal: Principal, on: dt.date | None) -> dt.date:
    tenant_id = training.tenant_of(principal)
    return checked_date("on", on) if on is not None else training.today(session, tenant_id)


@router.get("/coverage", responses=_ERRORS, summary="Coverage by org (rolled up) and who misses a mandatory course")
def get_coverage(request: Request, session: TenantSession, on: OnQuery = None, principal: Principal = VIEW) -> Any:
    day = judged_on(session, principal, on)
    return jsonable_encoder(training_queries.coverage_view(session, principal, day, request_locale(request)))


@router.get("/rules", responses=_ERRORS, summary="The training rules in force (mandatory courses, yearly hours)")
def get_rules(session: TenantSession, principal: Principal = VIEW) -> Any:
    return training_rules.rules_for(session, training.tenant_of(principal)).as_dict()


@router.get("/staff/{code}", responses=_ERRORS, summary="A person's training: requirements, hours, attendance")
def get_person(code: CodePath, session: TenantSession, on: OnQuery = None, principal: Principal = VIEW) -> Any:
    tenant_id = training.tenant_of(principal)
    person = people_repository.staff_by_code(session, tenant_id, code)
    if person is None or not people_service.may_see(session, principal, person):
        raise NotFound("staff", f"no staff member {code!r}")
    record = training.person_record(session, tenant_id, person.id, judged_on(session, principal, on))
    return {"staff": person.code, "name": person.name} | record


@router.get("/courses", responses=_ERRORS, summary="The courses, with their number of sessions")
def list_courses(request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    return training_queries.course_rows(session, training.tenant_of(principal), request_locale(request))


@router.post("/courses", status_code=201, responses=_ERRORS, summary="Record a course (audited)")
def post_course(body: CourseIn, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Any:
    course = training.create_course(session, principal, body)
    return training_queries.course_row(course, request_locale(request))


@router.get("/courses/{code}", responses=_ERRORS, summary="A course with its sessions")
def get_course(code: CodePath, request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    view = training_queries.course_view(session, training.tenant_of(principal), code, request_locale(request))
    return jsonable_encoder(view)


@router.post("/sessions", status_code=201, responses=_ERRORS, summary="Record a session of a course (audited)")
def post_session(body: SessionIn, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Any:
    """A session without a course (or an unknown one): 422 naming ``course``."""
    held = training.add_session(session, principal, body)
    return training_queries.session_view(session, principal, held.id, request_locale(request))


@router.get("/sessions/{session_id}", responses=_ERRORS, summary="A session with its attendance")
def get_session(session_id: RowId, request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    return training_queries.session_view(session, principal, session_id, request_locale(request))


@router.post(
    "/sessions/{session_id}/attendance", status_code=201, responses=_ERRORS, summary="Record a person's attendance"
)
def post_attendance(
    session_id: RowId, body: AttendanceIn, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    """Unknown staff code, or more hours than the course's: 422 naming the field; twice: 409. A remedial course
    completes the person's open mandatory trainings from sanctions (audited)."""
    training.record_attendance(session, principal, session_id, body)
    return training_queries.session_view(session, principal, session_id, request_locale(request))


@router.post(
    "/attendance/import",
    status_code=201,
    response_model=ImportOut,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
    summary="Import attendance from CSV, all or nothing",
)
def post_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: Principal = MANAGE,
    # After the principal: a stranger's upload is not read.
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Columns: session (its id) or course + held_on (+ trainer to record the session), staff, hours, passed,
    score. English or Chinese headers; UTF-8 or GB18030."""
    if len(content) > training_import.MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {training_import.MAX_IMPORT_BYTES} bytes")
    result = training_import.import_csv(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())
