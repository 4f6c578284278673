"""JSON routes of the inspector's side (thin): scorecards, my worklist, one inspection's result, drafts and
submission, evidence upload, findings (list, one, CSV, propose a sanction), review (复核).

Reading needs VIEW_INSPECTIONS; scoring, evidence, findings and reviews need PERFORM_INSPECTIONS (the
service checks the caller is the assigned inspector or reviewer and never handled the case); proposing a
sanction needs PROPOSE_SANCTIONS. Each request is one transaction: a refusal leaves nothing behind and
answers the one error body naming the field. Paths with ``{…:int}`` so fixed paths (``findings``, ``my``,
``scorecards``) are never taken for an id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.inspections import findings, result_queries, scorecards, scoring
from claimwatch.inspections.result_schemas import FindingIn, ResultIn, ReviewAssignIn, SanctionProposalIn
from claimwatch.params import RowId
from claimwatch.tenancy.service import tenant_zone

router = APIRouter(prefix="/api/v1", tags=["inspections"])

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_INSPECTIONS))]
InspectorDep = Annotated[Principal, Depends(require(Permission.PERFORM_INSPECTIONS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_INSPECTION_PLANS))]
ProposerDep = Annotated[Principal, Depends(require(Permission.PROPOSE_SANCTIONS))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not the assigned inspector or reviewer, or one who handled the case"},
    404: {"description": "unknown inspection or finding (another insurer's is unknown)"},
    409: {"description": "already submitted"},
    422: {"description": "invalid field (named in 'problems'): an item not in the card, a missing item, N/A refused"},
}


def _entries(body: ResultIn) -> dict[str, scoring.Entry]:
    return {code: scoring.Entry(item.outcome, item.comment) for code, item in body.items.items()}


def _view(session: TenantSession, principal: Principal, request: Request, inspection_id: RowId) -> dict[str, Any]:
    inspection = scoring.get(session, inspection_id)
    return jsonable_encoder(result_queries.view(session, inspection, request_locale(request), principal.user_id))


@router.get("/inspections/scorecards", summary="The scorecards (YAML, validated at load)")
def list_scorecards(request: Request, principal: ViewerDep, kind: str | None = Query(None, max_length=32)) -> Any:
    locale = request_locale(request)
    cards = scorecards.for_kind(kind) if kind else list(scorecards.registry().values())
    return [scorecards.as_dict(card, locale) for card in cards]


@router.get("/inspections/scorecards/{code}", summary="One scorecard", responses=_ERRORS)
def get_scorecard(code: str, request: Request, principal: ViewerDep) -> Any:
    return scorecards.as_dict(scorecards.load(code[:64]), request_locale(request))


@router.get("/inspections/my", summary="My worklist: sampled cases to score and reviews to do, by due date")
def my_work(request: Request, principal: InspectorDep, session: TenantSession) -> Any:
    if principal.user_id is None:
        return {"inspections": [], "reviews": []}
    now = utc_now()
    mine = result_queries.my_inspections(session, principal.user_id)
    reviews = result_queries.my_reviews(session, principal.user_id)
    tenant_id = principal.tenant_id or 0
    seen = result_queries.summaries(session, tenant_id, mine + [i for _, i in reviews])
    return jsonable_encoder(
        {
            "inspections": [
                result_queries.worklist_row(i, seen.get((i.subject_kind, i.subject_id)), now) for i in mine
            ],
            "reviews": [
                result_queries.worklist_row(i, seen.get((i.subject_kind, i.subject_id)), now)
                | {"review_due_at": r.due_at}
                for r, i in reviews
            ],
        }
    )


@router.get("/inspections/findings", summary="Findings, newest first (filters: severity, category)")
def list_findings(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    severity: str | None = Query(None, max_length=8),
    category: str | None = Query(None, max_length=48),
    inspection_id: int | None = Query(None, ge=1, le=2**62),
) -> Any:
    filters = findings.Filters(severity=severity or None, category=category or None, inspection_id=inspection_id)
    return jsonable_encoder(findings.rows(session, filters, request_locale(request)))


@router.get("/inspections/findings.csv", summary="Findings as CSV (UTF-8 with BOM, local time)")
def findings_csv(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    severity: str | None = Query(None, max_length=8),
    category: str | None = Query(None, max_length=48),
) -> Response:
    locale = request_locale(request)
    items = findings.rows(session, findings.Filters(severity=severity or None, category=category or None), locale)
    body = findings.to_csv(items, locale, tenant_zone(session, principal.tenant_id))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="findings.csv"'},
    )


@router.get("/inspections/findings/{finding_id:int}", summary="One finding", responses=_ERRORS)
def get_finding(finding_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    finding = findings.get(session, finding_id)
    inspection = scoring.get(session, finding.inspection_id)
    return jsonable_encoder(findings.as_dict(finding, inspection, request_locale(request)))


@router.post(
    "/inspections/findings/{finding_id:int}/sanction",
    status_code=201,
    summary="Propose a sanction from a finding (the sanctions catalogue decides what is allowed)",
    responses=_ERRORS,
)
def propose_sanction(
    finding_id: RowId, body: SanctionProposalIn, principal: ProposerDep, session: TenantSession
) -> Any:
    sanction = findings.propose_sanction(
        session,
        principal,
        finding_id,
        violation_code=body.violation_code,
        reason=body.reason,
        kind=body.kind,
        amount_cny=body.amount_cny,
        days=body.days,
    )
    return {"id": sanction.id, "finding_id": finding_id}


@router.get("/inspections/{inspection_id:int}/result", summary="One inspection's card and result", responses=_ERRORS)
def get_result(inspection_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    return _view(session, principal, request, inspection_id)


@router.post(
    "/inspections/{inspection_id:int}/start", summary="Start scoring (assigned → in progress)", responses=_ERRORS
)
def start(inspection_id: RowId, request: Request, principal: InspectorDep, session: TenantSession) -> Any:
    scoring.start(session, principal, inspection_id)
    return _view(session, principal, request, inspection_id)


@router.put("/inspections/{inspection_id:int}/draft", summary="Save a draft (items may stay open)", responses=_ERRORS)
def save_draft(
    inspection_id: RowId, body: ResultIn, request: Request, principal: InspectorDep, session: TenantSession
) -> Any:
    scoring.save_draft(session, principal, inspection_id, _entries(body), body.comment)
    return _view(session, principal, request, inspection_id)


@router.post(
    "/inspections/{inspection_id:int}/result",
    summary="Submit the result: every item, once; score, pass and error computed",
    responses=_ERRORS,
)
def submit(
    inspection_id: RowId, body: ResultIn, request: Request, principal: InspectorDep, session: TenantSession
) -> Any:
    scoring.submit(session, principal, inspection_id, _entries(body), body.comment)
    return _view(session, principal, request, inspection_id)


@router.post(
    "/inspections/{inspection_id:int}/evidence",
    status_code=201,
    summary="Upload evidence (same types, size limit and hash-in-audit as claim documents)",
    responses={**_ERRORS, 413: {"description": "file too large"}, 415: {"description": "type not accepted"}},
)
def upload_evidence(
    inspection_id: RowId,
    principal: InspectorDep,
    session: TenantSession,
    item_code: str | None = Form(None, max_length=64),
    file: UploadFile = File(...),
) -> Any:
    evidence = scoring.upload_evidence(
        session, principal, inspection_id, file.file, file.filename, file.content_type, item_code
    )
    return JSONResponse(
        status_code=201,
        content={"id": evidence.id, "sha256": evidence.sha256, "size_bytes": evidence.size_bytes},
    )


@router.post(
    "/inspections/{inspection_id:int}/findings", status_code=201, summary="Record a finding", responses=_ERRORS
)
def record_finding(
    inspection_id: RowId, body: FindingIn, request: Request, principal: InspectorDep, session: TenantSession
) -> Any:
    finding = findings.record_finding(session, principal, inspection_id, **body.model_dump())
    inspection = scoring.get(session, inspection_id)
    return jsonable_encoder(findings.as_dict(finding, inspection, request_locale(request)))


@router.post(
    "/inspections/{inspection_id:int}/review/assign",
    status_code=201,
    summary="Give a submitted inspection to a reviewer (复核)",
    responses=_ERRORS,
)
def assign_review(inspection_id: RowId, body: ReviewAssignIn, principal: ManagerDep, session: TenantSession) -> Any:
    review = scoring.assign_review(session, principal, inspection_id, body.reviewer)
    return {"inspection_id": inspection_id, "reviewer_id": review.reviewer_id, "status": review.status}


@router.post(
    "/inspections/{inspection_id:int}/review",
    summary="Submit the review: the same card scored again; disagreements recorded",
    responses=_ERRORS,
)
def submit_review(
    inspection_id: RowId, body: ResultIn, request: Request, principal: InspectorDep, session: TenantSession
) -> Any:
    scoring.submit_review(session, principal, inspection_id, _entries(body), body.comment)
    return _view(session, principal, request, inspection_id)
