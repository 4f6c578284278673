"""Plan, draw and sampled-case routes (thin). Reading needs VIEW_INSPECTIONS, creating plans and drawing
MANAGE_INSPECTION_PLANS; every query is the caller's insurer's (a plan or draw of another insurer is
unknown: 404). A refusal is the one error body naming the field; a refused request writes nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import FieldProblem, Forbidden, Invalid, NotFound
from claimwatch.inspections import plan_queries, repository, service
from claimwatch.inspections.schemas import DrawIn, PlanDefinition, error_field, error_message
from claimwatch.params import RowId

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown plan or draw (another insurer's is unknown)"},
    409: {"description": "the plan code is taken, or the period is already drawn"},
    422: {"description": "invalid field (named in 'problems')"},
}
STATUSES = ("assigned", "in_progress", "submitted", "reviewed", "unassigned")


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "inspections belong to one insurer; this account belongs to none")
    return principal.tenant_id


def parse_definition(body: Any) -> PlanDefinition:
    """The body as a plan; every field problem named (``size.share``, ``population``, ``strata``)."""
    if not isinstance(body, dict):
        raise Invalid("body", "a plan is a JSON object")
    try:
        return PlanDefinition.model_validate(body)
    except ValidationError as exc:
        problems = [
            FieldProblem(error_field(tuple(e["loc"]), str(e["msg"])), error_message(str(e["msg"])))
            for e in exc.errors()
        ]
        raise Invalid(problems[0].field, problems[0].message, problems=problems) from None


@router.get("/plans", summary="The insurer's sampling plans")
def get_plans(session: TenantSession, principal: Principal = Depends(require(Permission.VIEW_INSPECTIONS))) -> Any:
    _tenant(principal)
    return jsonable_encoder(plan_queries.plans(session))


@router.post("/plans", status_code=201, responses=_ERRORS, summary="Create a sampling plan (audited)")
def post_plan(
    session: TenantSession,
    body: Any = Body(..., description="the plan (the same shape as a plan YAML file)"),
    principal: Principal = Depends(require(Permission.MANAGE_INSPECTION_PLANS)),
) -> Any:
    _tenant(principal)
    plan = service.create_plan(session, principal, parse_definition(body), source="manual")
    return jsonable_encoder(plan_queries.plan_summary(plan))


def _plan(session: Session, code: str) -> Any:
    return service.get_plan(session, code[:64])


@router.get("/plans/{code}", responses=_ERRORS, summary="A plan with its draws")
def get_plan(
    code: str,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_INSPECTIONS)),
) -> Any:
    _tenant(principal)
    return jsonable_encoder(plan_queries.plan_view(session, _plan(session, code), request_locale(request)))


@router.post("/plans/{code}/draws", status_code=201, responses=_ERRORS, summary="Draw the plan's sample (audited)")
def post_draw(
    code: str,
    request: Request,
    session: TenantSession,
    body: DrawIn | None = None,
    principal: Principal = Depends(require(Permission.MANAGE_INSPECTION_PLANS)),
) -> Any:
    """Draw the sample and assign inspectors. ``period`` draws that month/quarter once; ``seed`` reproduces
    an earlier draw over an unchanged population (default: a random 63-bit seed, recorded)."""
    _tenant(principal)
    plan = _plan(session, code)
    body = body or DrawIn()
    drawn = service.draw_sample(session, principal, plan.id, period=body.period, seed=body.seed)
    return JSONResponse(
        status_code=201, content=jsonable_encoder(plan_queries.draw_view(session, drawn, request_locale(request)))
    )


@router.get("/draws/{draw_id}", responses=_ERRORS, summary="A draw: seed, strata, the sampled cases")
def get_draw(
    draw_id: RowId,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_INSPECTIONS)),
) -> Any:
    _tenant(principal)
    found = repository.draw_by_id(session, draw_id)
    if found is None:
        raise NotFound("draw", f"no draw {draw_id}")
    return jsonable_encoder(plan_queries.draw_view(session, found, request_locale(request)))


@router.get("", responses=_ERRORS, summary="Sampled cases by status and inspector (me: my own)")
def get_inspections(
    request: Request,
    session: TenantSession,
    status: str | None = Query(None, max_length=16),
    inspector: str | None = Query(None, max_length=64, description="a username, or 'me'"),
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
    principal: Principal = Depends(require(Permission.VIEW_INSPECTIONS)),
) -> Any:
    tenant_id = _tenant(principal)
    if status is not None and status not in STATUSES:
        raise Invalid("status", f"status must be one of {', '.join(STATUSES)}")
    inspector_id = None
    if inspector == "me":
        inspector_id = principal.user_id if principal.user_id is not None else -1
    elif inspector:
        found = auth_repository.user_ids_by_username(session, tenant_id, {inspector})
        if inspector not in found:
            raise Invalid("inspector", f"no staff member {inspector!r} at this insurer")
        inspector_id = found[inspector]
    rows = repository.list_inspections(session, status=status, inspector_id=inspector_id, limit=limit, offset=offset)
    return jsonable_encoder(plan_queries.inspection_rows(session, tenant_id, rows, request_locale(request)))
