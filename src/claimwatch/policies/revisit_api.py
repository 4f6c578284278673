"""Revisit routes (thin): the queue and one revisit (VIEW_SALES or WORK_REVISITS), taking one, recording an
attempt and the outcome (WORK_REVISITS), the customer's reply to the text message as an integration passes it on
(WORK_REVISITS or an integration key), and the KPIs of a period. An insurer's own: a regulator gets 403. Each
request is one transaction: a refusal leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, current_principal, request_locale, require
from claimwatch.auth.principal import Permission, Principal, Role
from claimwatch.errors import Forbidden, Invalid
from claimwatch.params import RowId
from claimwatch.policies import revisit_queries, revisits
from claimwatch.policies.revisit_schemas import AttemptIn, KpisOut, OutcomeIn, ReplyIn, RevisitOut, RevisitPageOut
from claimwatch.tenancy.service import tenant_zone

router = APIRouter(tags=["revisits"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (a regulator; a role without revisit work)"},
    404: {"description": "unknown revisit or reply code (another insurer's is unknown too)"},
    409: {"description": "the revisit is done"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _insurer(principal: Principal) -> Principal:
    if principal.is_regulator or principal.tenant_id is None:
        raise Forbidden("tenant", "revisits belong to one insurer")
    return principal


def _viewer(principal: Principal = Depends(current_principal)) -> Principal:
    if not (principal.can(Permission.VIEW_SALES) or principal.can(Permission.WORK_REVISITS)):
        raise Forbidden("role", f"role {principal.role.value!r} may not read revisits")
    return _insurer(principal)


def _worker(principal: Principal = Depends(require(Permission.WORK_REVISITS))) -> Principal:
    return _insurer(principal)


def _replier(principal: Principal = Depends(current_principal)) -> Principal:
    if not (principal.can(Permission.WORK_REVISITS) or principal.role is Role.INTEGRATION):
        raise Forbidden("role", f"role {principal.role.value!r} may not record revisit replies")
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
WorkerDep = Annotated[Principal, Depends(_worker)]
ReplierDep = Annotated[Principal, Depends(_replier)]


def _today(session: Session, principal: Principal) -> dt.date:
    return revisit_queries.today_in(tenant_zone(session, principal.tenant_id))


def _one(session: Session, request: Request, principal: Principal, revisit_id: int) -> RevisitOut:
    view = revisit_queries.revisit_view(session, revisit_id, request_locale(request), _today(session, principal))
    return RevisitOut.model_validate(view)


@router.get("/api/v1/revisits", response_model=RevisitPageOut, responses=_ERRORS)
def get_revisits(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    status: str = Query("open", max_length=16, description="open (default) | due | in_progress | overdue | done | all"),
    channel: str = Query("", max_length=16, description="message | call"),
    outcome: str = Query("", max_length=16),
    agent: str = Query("", max_length=64, description="the agent's staff code"),
    org: str = Query("", max_length=32, description="an org unit code (its subtree)"),
    mine: bool = Query(False, description="only the revisits assigned to me"),
    due_from: dt.date | None = Query(None),
    due_to: dt.date | None = Query(None),
    page: int = Query(1, ge=1, le=10_000),
) -> Any:
    """The revisit queue, due first (overdue, then by due day)."""
    flt = revisit_queries.QueueFilter(
        status=status,
        channel=channel or None,
        outcome=outcome or None,
        agent=agent or None,
        org=org or None,
        assignee_id=principal.user_id if mine else None,
        due_from=due_from,
        due_to=due_to,
    )
    total, rows = revisit_queries.queue(session, flt, request_locale(request), _today(session, principal), page)
    return RevisitPageOut(total=total, page=page, items=[RevisitOut.model_validate(row) for row in rows])


@router.get("/api/v1/revisits/kpis", response_model=KpisOut, responses=_ERRORS)
def get_kpis(
    principal: ViewerDep,
    session: TenantSession,
    due_from: dt.date = Query(description="first due day of the period"),
    due_to: dt.date = Query(description="last due day of the period"),
) -> Any:
    """Completion within the cooling-off period and the misled rate by agent and org unit, of the revisits due in
    the period."""
    if (due_to - due_from).days > 3660:
        raise Invalid("due_to", "at most ten years")
    found = revisit_queries.kpis(session, tenant_zone(session, principal.tenant_id), due_from, due_to)
    return KpisOut.model_validate(revisit_queries.kpi_view(found))


@router.post("/api/v1/revisits/reply", response_model=RevisitOut, responses=_ERRORS)
def post_reply(body: ReplyIn, request: Request, principal: ReplierDep, session: TenantSession) -> Any:
    """The customer's reply to the revisit text (``1 <code>`` understood, ``2 <code>`` not as explained: misled,
    which opens the finding)."""
    revisit = revisits.record_reply(session, principal, body.reply_code, body.answer)
    return _one(session, request, principal, revisit.id)


@router.get("/api/v1/revisits/{revisit_id}", response_model=RevisitOut, responses=_ERRORS)
def get_revisit(revisit_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    return _one(session, request, principal, revisit_id)


@router.post("/api/v1/revisits/{revisit_id}/take", response_model=RevisitOut, responses=_ERRORS)
def post_take(revisit_id: RowId, request: Request, principal: WorkerDep, session: TenantSession) -> Any:
    """Assign the revisit to me."""
    revisits.take(session, principal, revisit_id)
    return _one(session, request, principal, revisit_id)


@router.post("/api/v1/revisits/{revisit_id}/attempt", response_model=RevisitOut, responses=_ERRORS)
def post_attempt(
    revisit_id: RowId, body: AttemptIn, request: Request, principal: WorkerDep, session: TenantSession
) -> Any:
    """A call that reached nobody: one more attempt."""
    revisits.record_attempt(session, principal, revisit_id, notes=body.notes)
    return _one(session, request, principal, revisit_id)


@router.post("/api/v1/revisits/{revisit_id}/outcome", response_model=RevisitOut, responses=_ERRORS)
def post_outcome(
    revisit_id: RowId, body: OutcomeIn, request: Request, principal: WorkerDep, session: TenantSession
) -> Any:
    """understood | misled (notes required; opens a finding on the sale and flags it) | unreachable (after the
    configured number of attempts)."""
    revisits.record_outcome(session, principal, revisit_id, outcome=body.outcome, notes=body.notes)
    return _one(session, request, principal, revisit_id)
