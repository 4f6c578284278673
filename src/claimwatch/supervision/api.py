"""Rating API (thin): methodology versions, runs (compute, approve, withdraw), results, deductions, objections,
and a run's CSV (BOM) / XLSX export. The regulator writes (MANAGE_RATINGS) through :data:`RatingSession`; an
insurer (VIEW_RATINGS) reads approved runs and only its own results (rank band, never its rank among peers),
and files objections (FILE_RATING_OBJECTIONS)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.params import RowId
from claimwatch.supervision import methodology, service
from claimwatch.supervision.deps import RatingSession
from claimwatch.supervision.schemas import DecisionIn, DeductionIn, MethodologyIn, NoteIn, ReasonIn, RunIn
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

router = APIRouter(prefix="/api/v1/ratings", tags=["ratings"])

VIEW = Depends(require(Permission.VIEW_RATINGS))
MANAGE = Depends(require(Permission.MANAGE_RATINGS))
OBJECT = Depends(require(Permission.FILE_RATING_OBJECTIONS))
PeriodQuery = Annotated[str | None, Query(max_length=8, description='"2026-Q3" or "2026"')]
LevelQuery = Annotated[Literal["insurer", "branch"] | None, Query()]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown (another insurer's result or an unpublished run is unknown to an insurer)"},
    409: {"description": "not in a state that allows it (approved already, objections closed, …)"},
    422: {"description": "invalid field (named in 'problems'; a methodology's errors cite file:line)"},
}


# -- methodologies ---------------------------------------------------------------------------------------------


@router.get("/methodologies", summary="Methodology versions, newest first")
def list_methodologies(session: TenantSession, principal: Principal = VIEW) -> list[dict[str, Any]]:
    return jsonable_encoder([service.methodology_view(row, with_body=False) for row in methodology.versions(session)])


@router.get("/methodologies/{methodology_id}", summary="One methodology version with its text", responses=_ERRORS)
def get_methodology(methodology_id: RowId, session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    return jsonable_encoder(service.methodology_view(methodology.get(session, methodology_id)))


@router.post(
    "/methodologies",
    status_code=201,
    summary="Add a methodology version (validated, activated, audited)",
    responses=_ERRORS,
)
def post_methodology(body: MethodologyIn, session: RatingSession, principal: Principal = MANAGE) -> dict[str, Any]:
    row = methodology.add_version(session, principal, body.text, body.source)
    return jsonable_encoder(service.methodology_view(row))


# -- runs and results -------------------------------------------------------------------------------------------


@router.get("/runs", summary="Rating runs (an insurer: approved ones)", responses=_ERRORS)
def list_runs(
    session: TenantSession,
    period: PeriodQuery = None,
    level: LevelQuery = None,
    status: Annotated[Literal["draft", "approved", "withdrawn"] | None, Query()] = None,
    principal: Principal = VIEW,
) -> list[dict[str, Any]]:
    found = service.runs(session, principal, period, level, status)
    return jsonable_encoder([service.run_view(session, run) for run in found])


@router.post("/runs", status_code=201, summary="Compute a draft run from the KPI snapshot", responses=_ERRORS)
def post_run(body: RunIn, session: RatingSession, principal: Principal = MANAGE) -> dict[str, Any]:
    run = service.compute_run(session, principal, body.period, body.level, note=body.note)
    return jsonable_encoder(service.run_view(session, run))


@router.get("/runs/{run_id}", summary="One run", responses=_ERRORS)
def get_run(run_id: RowId, session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    return jsonable_encoder(service.run_view(session, service.get_run(session, principal, run_id)))


@router.post("/runs/{run_id}/approve", summary="Approve (publish) a draft run", responses=_ERRORS)
def approve_run(run_id: RowId, session: RatingSession, principal: Principal = MANAGE) -> dict[str, Any]:
    return jsonable_encoder(service.run_view(session, service.approve(session, principal, run_id)))


@router.post("/runs/{run_id}/withdraw", summary="Withdraw a run (note required)", responses=_ERRORS)
def withdraw_run(run_id: RowId, body: NoteIn, session: RatingSession, principal: Principal = MANAGE) -> dict[str, Any]:
    return jsonable_encoder(service.run_view(session, service.withdraw(session, principal, run_id, body.note)))


@router.get("/runs/{run_id}/results", summary="A run's results (an insurer: its own)", responses=_ERRORS)
def list_results(run_id: RowId, request: Request, session: TenantSession, principal: Principal = VIEW) -> list[Any]:
    found = service.results(session, principal, run_id)
    return jsonable_encoder(service.result_views(session, principal, found, request_locale(request)))


@router.get("/runs/{run_id}/export.csv", summary="A run's results as CSV (BOM)", responses=_ERRORS)
def export_csv(run_id: RowId, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Response:
    text = service.export_csv(session, principal, run_id, request_locale(request))
    return Response(
        text,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="rating-run-{run_id}.csv"'},
    )


@router.get("/runs/{run_id}/export.xlsx", summary="A run's results as XLSX", responses=_ERRORS)
def export_xlsx(run_id: RowId, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Response:
    data = service.export_xlsx(session, principal, run_id, request_locale(request))
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="rating-run-{run_id}.xlsx"'},
    )


@router.get("/results", summary="My published results (an insurer), newest first", responses=_ERRORS)
def own_results(
    request: Request, session: TenantSession, level: LevelQuery = None, principal: Principal = VIEW
) -> list[dict[str, Any]]:
    pairs = service.own_results(session, principal, level)
    views = service.result_views(session, principal, [result for _, result in pairs], request_locale(request))
    return jsonable_encoder(
        [
            view
            | {
                "period": run.period,
                "level": run.level,
                "objections_until": run.objections_until,
                "objections_open": service.objection_open(run),
            }
            for (run, _), view in zip(pairs, views, strict=True)
        ]
    )


@router.get("/results/{result_id}", summary="One result (an insurer: its own, published)", responses=_ERRORS)
def get_result(result_id: RowId, request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    result = service.get_result(session, principal, result_id)
    return jsonable_encoder(service.result_views(session, principal, [result], request_locale(request))[0])


@router.post(
    "/results/{result_id}/objections",
    status_code=201,
    summary="File an objection (复核) to my result",
    responses=_ERRORS,
)
def post_objection(result_id: RowId, body: ReasonIn, session: RatingSession, principal: Principal = OBJECT) -> Any:
    row = service.file_objection(session, principal, result_id, body.reason)
    return jsonable_encoder(service.objection_views(session, [row])[0])


# -- deductions ---------------------------------------------------------------------------------------------------


@router.get("/deductions", summary="Deductions (an insurer: its own)", responses=_ERRORS)
def list_deductions(
    session: TenantSession,
    period: PeriodQuery = None,
    tenant: Annotated[str | None, Query(max_length=32, description="insurer code (regulators)")] = None,
    principal: Principal = VIEW,
) -> list[dict[str, Any]]:
    found = service.deductions(session, principal, period, tenant)
    return jsonable_encoder(service.deduction_views(session, found))


@router.post("/deductions", status_code=201, summary="Enter a deduction (扣分项)", responses=_ERRORS)
def post_deduction(body: DeductionIn, session: RatingSession, principal: Principal = MANAGE) -> dict[str, Any]:
    row = service.add_deduction(
        session,
        principal,
        tenant_code=body.tenant,
        period=body.period,
        kind=body.kind,
        points=body.points,
        reason=body.reason,
        reference=body.reference,
        region_code=body.region_code,
    )
    return jsonable_encoder(service.deduction_views(session, [row])[0])


@router.post("/deductions/{deduction_id}/withdraw", summary="Withdraw a deduction (reason required)", responses=_ERRORS)
def withdraw_deduction(
    deduction_id: RowId, body: ReasonIn, session: RatingSession, principal: Principal = MANAGE
) -> dict[str, Any]:
    row = service.withdraw_deduction(session, principal, deduction_id, body.reason)
    return jsonable_encoder(service.deduction_views(session, [row])[0])


# -- objections ---------------------------------------------------------------------------------------------------


@router.get("/objections", summary="Objections, open first (an insurer: its own)", responses=_ERRORS)
def list_objections(
    session: TenantSession,
    status: Annotated[Literal["open", "upheld", "rejected"] | None, Query()] = None,
    principal: Principal = VIEW,
) -> list[dict[str, Any]]:
    return jsonable_encoder(service.objection_views(session, service.objections(session, principal, status)))


@router.post("/objections/{objection_id}/decide", summary="Decide an objection (upheld or rejected)", responses=_ERRORS)
def decide_objection(
    objection_id: RowId, body: DecisionIn, session: RatingSession, principal: Principal = MANAGE
) -> dict[str, Any]:
    row = service.decide_objection(
        session, principal, objection_id, body.outcome, body.note, body.revised_score, body.revised_grade
    )
    return jsonable_encoder(service.objection_views(session, [row])[0])
