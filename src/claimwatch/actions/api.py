"""Improvement-action routes (thin): the board's list with filters, raising, one action, editing it and its
steps, the PDCA moves, the measured Check, standardising and a new cycle; the actions of a source.
Reading needs VIEW_ACTIONS; raising, moving, checking and standardising MANAGE_ACTIONS; owners work their
steps with WORK_ACTIONS. A move out of order is a 409 naming the phase; bad input a 422 naming the field.
Each request is one transaction: a refusal leaves nothing behind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder

from claimwatch.actions import phases, queries, schemas, service, steps
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.params import RowId

router = APIRouter(prefix="/api/v1/actions", tags=["actions"])

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_ACTIONS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_ACTIONS))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this, or the caller is not the owner (field 'owner' or 'phase')"},
    404: {"description": "unknown action (another insurer's, or outside the caller's org subtree)"},
    409: {"description": "not possible in the action's phase (field 'phase', 'steps' or 'check', named)"},
    422: {"description": "invalid field (named in 'problems'), e.g. owner_user_id, due_on, kpi_code"},
    503: {"description": "no KPI snapshot yet (the Check)"},
}


def _view(session: TenantSession, request: Request, principal: Principal, action_id: int) -> Any:
    found = queries.detail(session, principal, action_id, request_locale(request), utc_now())
    return jsonable_encoder(schemas.ActionOut.model_validate(found))


@router.get("", response_model=list[schemas.BoardRowOut], responses=_ERRORS)
def list_actions(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    phase: str = Query(
        "", max_length=16, description="plan | do | check | act | closed | cancelled | all; empty: open"
    ),
    owner: int | None = Query(None, ge=1, le=2**31 - 1, description="owner of the action or of a step"),
    source_kind: str = Query("", max_length=32),
    kpi_code: str = Query("", max_length=48),
    overdue: bool = Query(False),
    limit: int = Query(queries.BOARD_LIMIT, ge=1, le=1000),
) -> Any:
    """The actions the caller may see, overdue first, then by due date (the board's columns, flattened)."""
    filters = queries.BoardFilters(owner, source_kind, kpi_code, overdue, phase, limit)
    found = queries.board(session, principal, filters, request_locale(request), utc_now())
    return [schemas.BoardRowOut.model_validate(row, from_attributes=True) for row in found.rows]


@router.get("/for-source", response_model=list[schemas.SourceActionOut], responses=_ERRORS)
def actions_of_source(
    principal: ViewerDep,
    session: TenantSession,
    kind: str = Query(..., max_length=32),
    source_id: int | None = Query(None, ge=1, le=2**53),
    ref: str | None = Query(None, max_length=100),
) -> Any:
    """The actions raised from one source (a finding, an alert, a complaint cause, a KPI…)."""
    return queries.for_source(session, principal, kind, source_id, ref)


@router.post("", status_code=201, response_model=schemas.ActionOut, responses=_ERRORS)
def post_action(body: schemas.RaiseIn, request: Request, principal: ManagerDep, session: TenantSession) -> Any:
    """Raise an action (phase plan) from a source; the owner and the step owners are told."""
    action = service.raise_action(session, principal, **body.model_dump())
    return _view(session, request, principal, action.id)


@router.get("/{action_id}", response_model=schemas.ActionOut, responses=_ERRORS)
def get_action(action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """One action: source, scope, KPI, root cause, steps, clocks, history (its audit entries), the Check's
    result, and what the caller may do now (``allowed``)."""
    return _view(session, request, principal, action_id)


@router.patch("/{action_id}", response_model=schemas.ActionOut, responses=_ERRORS)
def patch_action(
    action_id: RowId, body: schemas.UpdateIn, request: Request, principal: ViewerDep, session: TenantSession
) -> Any:
    """Edit the texts and the analysis (owner or manager); owner, due date and KPI (manager)."""
    service.update_action(session, principal, action_id, **body.model_dump())
    return _view(session, request, principal, action_id)


@router.post("/{action_id}/steps", status_code=201, response_model=schemas.ActionOut, responses=_ERRORS)
def post_step(
    action_id: RowId, body: schemas.StepInput, request: Request, principal: ViewerDep, session: TenantSession
) -> Any:
    """Add a step (in plan or do)."""
    steps.add_step(session, principal, action_id, body)
    return _view(session, request, principal, action_id)


@router.patch("/steps/{step_id}", response_model=schemas.ActionOut, responses=_ERRORS)
def patch_step(
    step_id: RowId, body: schemas.StepUpdateIn, request: Request, principal: ViewerDep, session: TenantSession
) -> Any:
    """Change a step not yet done (in plan or do)."""
    step = steps.update_step(session, principal, step_id, **body.model_dump())
    return _view(session, request, principal, step.action_id)


@router.post("/steps/{step_id}/done", response_model=schemas.ActionOut, responses=_ERRORS)
def post_step_done(
    step_id: RowId, request: Request, principal: ViewerDep, session: TenantSession, body: schemas.NoteIn | None = None
) -> Any:
    """Finish a step (in do): its owner, the action's owner, or a manager."""
    step = service.finish_step(session, principal, step_id, note=body.note if body else None)
    return _view(session, request, principal, step.action_id)


@router.post("/{action_id}/phase", response_model=schemas.ActionOut, responses=_ERRORS)
def post_phase(
    action_id: RowId, body: schemas.PhaseIn, request: Request, principal: ViewerDep, session: TenantSession
) -> Any:
    """Move to the next PDCA phase (plan → do → check → act → closed) or cancel (with a reason)."""
    phases.move_phase(session, principal, action_id, body.to_phase, note=body.note)
    return _view(session, request, principal, action_id)


@router.post("/{action_id}/check", response_model=schemas.ActionOut, responses=_ERRORS)
def post_check(
    action_id: RowId,
    request: Request,
    principal: ManagerDep,
    session: TenantSession,
    body: schemas.CheckIn | None = None,
) -> Any:
    """Run the effectiveness check on the current KPI snapshot (windows default to 90 days each side of the
    day Do ended)."""
    before = body.before.model_dump() if body and body.before else None
    after = body.after.model_dump() if body and body.after else None
    phases.run_check(session, principal, action_id, before=before, after=after)
    return _view(session, request, principal, action_id)


@router.post("/{action_id}/standardise", response_model=schemas.ActionOut, responses=_ERRORS)
def post_standardise(
    action_id: RowId, body: schemas.StandardiseIn, request: Request, principal: ManagerDep, session: TenantSession
) -> Any:
    """Act: link the changed standards (digests pinned in the audit chain) and close the action."""
    phases.standardise(session, principal, action_id, [r.model_dump() for r in body.refs], note=body.note)
    return _view(session, request, principal, action_id)


@router.post("/{action_id}/new-cycle", status_code=201, response_model=schemas.ActionOut, responses=_ERRORS)
def post_new_cycle(
    action_id: RowId, body: schemas.NewCycleIn, request: Request, principal: ManagerDep, session: TenantSession
) -> Any:
    """Close this action (outcome new cycle) and raise the next one; answers the new action."""
    following = phases.new_cycle(session, principal, action_id, due_on=body.due_on, owner_user_id=body.owner_user_id)
    return _view(session, request, principal, following.id)
