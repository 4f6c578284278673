"""Underwriting routes (thin): applications in (one, or a CSV all or nothing), the queue, one case, taking or
giving a case, the decision, a withdrawal, and the rule-set versions. Reading needs VIEW_UNDERWRITING; applications
and withdrawals SUBMIT_APPLICATIONS; assignment and decisions DECIDE_UNDERWRITING; loading rules
MANAGE_UNDERWRITING_RULES. The regulator reads no insurer's applications (403). Each request is one transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.policies import underwriting, underwriting_import, underwriting_queries
from claimwatch.policies.underwriting_rules import LEVELS
from claimwatch.policies.underwriting_schemas import (
    ApplicationIn,
    ApplicationNumber,
    AssignIn,
    CaseOut,
    CasePageOut,
    DecisionIn,
    ReasonIn,
    RuleSetOut,
    RulesIn,
)

router = APIRouter(tags=["underwriting"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (the regulator; another underwriter's case)"},
    404: {"description": "unknown application (another insurer's is unknown too)"},
    409: {"description": "not possible in the case's state (decided, withdrawn, not in review)"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _insurer(principal: Principal) -> Principal:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "underwriting belongs to one insurer")
    return principal


def _viewer(principal: Principal = Depends(require(Permission.VIEW_UNDERWRITING))) -> Principal:
    return _insurer(principal)


def _submitter(principal: Principal = Depends(require(Permission.SUBMIT_APPLICATIONS))) -> Principal:
    return _insurer(principal)


def _decider(principal: Principal = Depends(require(Permission.DECIDE_UNDERWRITING))) -> Principal:
    return _insurer(principal)


def _rules_manager(principal: Principal = Depends(require(Permission.MANAGE_UNDERWRITING_RULES))) -> Principal:
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
SubmitterDep = Annotated[Principal, Depends(_submitter)]
DeciderDep = Annotated[Principal, Depends(_decider)]
RulesDep = Annotated[Principal, Depends(_rules_manager)]


def _case(session: Session, request: Request, number: str) -> Any:
    case = underwriting.get_case(session, number)
    view = underwriting_queries.case_view(session, case, request_locale(request))
    return jsonable_encoder(CaseOut.model_validate(view))


@router.post("/api/v1/underwriting/applications", status_code=201, response_model=CaseOut, responses=_ERRORS)
def post_application(body: ApplicationIn, request: Request, principal: SubmitterDep, session: TenantSession) -> Any:
    """An application: assessed at once; decided automatically (the applicant told) or put in manual review. An
    application number recorded before answers 200 with the case as it is."""
    case, created = underwriting.submit(session, principal, body)
    return JSONResponse(status_code=201 if created else 200, content=_case(session, request, case.application_number))


@router.post(
    "/api/v1/underwriting/applications/import",
    status_code=201,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
)
def post_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: SubmitterDep,
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Applications from CSV (body ``text/csv`` or multipart ``file``), all or nothing: columns
    application_number, product_code, line, channel, agent_code, org_code, applicant_name, id_number, phone,
    sum_insured, premium, age, occupation_class, height_cm, weight_kg, bmi, smoker, health, received_at."""
    if len(content) > underwriting_import.MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {underwriting_import.MAX_IMPORT_BYTES} bytes")
    result = underwriting_import.import_csv(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())


@router.get("/api/v1/underwriting/applications", response_model=CasePageOut, responses=_ERRORS)
def get_queue(
    principal: ViewerDep,
    session: TenantSession,
    status: str = Query("open", max_length=16, description="open (received or in review), a status, or all"),
    level: str = Query("", max_length=8, description="low | medium | high"),
    line: str = Query("", max_length=32),
    mine: bool = Query(False, description="only the cases assigned to me"),
    unassigned: bool = Query(False),
    overdue: bool = Query(False, description="past the turnaround deadline, undecided"),
    page: int = Query(1, ge=1, le=10_000),
) -> Any:
    """The queue, nearest turnaround deadline first."""
    if status not in underwriting_queries.STATUS_FILTERS:
        raise Invalid("status", f"status must be one of {', '.join(underwriting_queries.STATUS_FILTERS)}")
    if level and level not in LEVELS:
        raise Invalid("level", f"level must be one of {', '.join(LEVELS)}")
    total, rows = underwriting_queries.queue(
        session,
        status=status,
        level=level or None,
        line=line or None,
        reviewer_id=principal.user_id if mine else None,
        unassigned=unassigned,
        overdue=overdue,
        page=page,
    )
    return CasePageOut.model_validate({"total": total, "page": page, "items": rows})


@router.get("/api/v1/underwriting/applications/{number}", response_model=CaseOut, responses=_ERRORS)
def get_case(number: ApplicationNumber, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """One case: facts, fired factors with points, clock, decision and history (the applicant masked)."""
    return _case(session, request, number)


@router.post("/api/v1/underwriting/applications/{number}/assign", response_model=CaseOut, responses=_ERRORS)
def post_assign(
    number: ApplicationNumber, body: AssignIn, request: Request, principal: DeciderDep, session: TenantSession
) -> Any:
    """Take a case in review (no username), or (a supervisor) give it to an underwriter."""
    underwriting.assign(session, principal, number, body.username)
    return _case(session, request, number)


@router.post("/api/v1/underwriting/applications/{number}/decision", response_model=CaseOut, responses=_ERRORS)
def post_decision(
    number: ApplicationNumber, body: DecisionIn, request: Request, principal: DeciderDep, session: TenantSession
) -> Any:
    """Decide a case in manual review with the underwriter's reasons; a decline, rate-up or exclusion needs the
    reason the applicant is told (through the outbox, at once)."""
    underwriting.decide(
        session,
        principal,
        number,
        outcome=body.outcome,
        reason=body.reason,
        review_reasons=body.review_reasons,
        exclusions=body.exclusions,
        rate_up_pct=body.rate_up_pct,
    )
    return _case(session, request, number)


@router.post("/api/v1/underwriting/applications/{number}/withdraw", response_model=CaseOut, responses=_ERRORS)
def post_withdraw(
    number: ApplicationNumber, body: ReasonIn, request: Request, principal: SubmitterDep, session: TenantSession
) -> Any:
    """The applicant withdrew an undecided application; its clock is voided."""
    underwriting.withdraw(session, principal, number, body.reason)
    return _case(session, request, number)


@router.get("/api/v1/underwriting/rules", response_model=list[RuleSetOut], responses=_ERRORS)
def get_rules(principal: ViewerDep, session: TenantSession) -> Any:
    """The rule-set versions, newest (in force) first."""
    return [RuleSetOut.model_validate(row) for row in underwriting_queries.rule_set_views(session)]


@router.post("/api/v1/underwriting/rules", status_code=201, response_model=RuleSetOut, responses=_ERRORS)
def post_rules(body: RulesIn, principal: RulesDep, session: TenantSession) -> Any:
    """A new version of the rules (YAML; none: the insurer's rule file); a bad file is 422 naming file:line."""
    row = underwriting.load_rules(session, principal, body.content, body.source)
    return RuleSetOut.model_validate(underwriting_queries.rule_set_views(session)[0] | {"id": row.id})
