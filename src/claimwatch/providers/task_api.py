"""Provider-task routes for staff (thin): a claim's tasks and sending one, the task queue, one task, cancelling
and closing it, raising a dispute on its report and resolving one. Reading needs VIEW_PROVIDERS; sending,
cancelling, closing and raising a dispute need SEND_PROVIDER_TASKS; resolving needs RESOLVE_TASK_DISPUTES. The
regulator reads provider statistics, not an insurer's tasks (403 here). A provider's own key has its own API
(``providers.provider_api``) and gets 403 on every route here. Each request is one transaction: a refusal leaves
nothing behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden
from claimwatch.params import RowId
from claimwatch.providers import queries, task_service

router = APIRouter(tags=["providers"])

TaskNumber = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
ClaimNumberPath = Annotated[str, Field(min_length=1, max_length=64)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (a provider key, a regulator)"},
    404: {"description": "unknown claim, task, provider or dispute (another insurer's is unknown too)"},
    409: {"description": "not possible now: the task's state, a closed claim, a provider that gets no new task"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _insurer(principal: Principal) -> Principal:
    if principal.is_regulator or principal.tenant_id is None:
        raise Forbidden("tenant", "provider tasks belong to one insurer; the regulator reads provider statistics")
    return principal


def _viewer(principal: Principal = Depends(require(Permission.VIEW_PROVIDERS))) -> Principal:
    return _insurer(principal)


def _sender(principal: Principal = Depends(require(Permission.SEND_PROVIDER_TASKS))) -> Principal:
    return _insurer(principal)


def _resolver(principal: Principal = Depends(require(Permission.RESOLVE_TASK_DISPUTES))) -> Principal:
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
SenderDep = Annotated[Principal, Depends(_sender)]
ResolverDep = Annotated[Principal, Depends(_resolver)]


# -- schemas ----------------------------------------------------------------------------------------------


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_code: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32, description="appraisal | repair_estimate | medical_records | …")
    documents: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=task_service.MAX_DOCUMENTS, description="names sent (default: the standard set)"
    )
    instructions: str | None = Field(default=None, max_length=task_service.MAX_INSTRUCTIONS)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=task_service.MAX_REASON)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=task_service.MAX_REASON)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(description="upheld | rejected | withdrawn", max_length=16)
    note: str | None = Field(default=None, max_length=task_service.MAX_REASON)


class TaskItemOut(BaseModel):
    number: str
    claim_number: str
    kind: str
    kind_label: str
    provider_code: str
    provider_name: str
    status: str
    status_label: str
    sent_at: dt.datetime
    sent_by_rule: str | None
    due_at: dt.datetime
    level_days: int
    level_unit: str
    light: str | None
    overdue: bool
    reported_at: dt.datetime | None
    on_time: bool | None
    standard: bool | None
    standard_reasons: list[str]
    standard_documents: bool


class TaskPageOut(BaseModel):
    total: int
    page: int
    items: list[TaskItemOut]


class ReportFieldOut(BaseModel):
    name: str
    label: str
    value: str | Decimal | int | float | bool | None


class ReportOut(BaseModel):
    reported_at: dt.datetime | None
    filename: str | None
    sha256: str | None
    has_file: bool
    fields: list[ReportFieldOut]


class EventOut(BaseModel):
    at: dt.datetime
    action: str
    actor: str
    detail: dict[str, Any]


class DisputeOut(BaseModel):
    id: int
    raised_by_kind: str
    raised_by: str
    reason: str
    raised_at: dt.datetime
    outcome: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None


class ClockOut(BaseModel):
    unit: str
    state: str
    light: str | None
    outcome: str | None
    started_at: dt.datetime
    remind_at: dt.datetime | None
    due_at: dt.datetime | None
    stopped_at: dt.datetime | None
    missed_by: float | None
    provisional: bool


class TaskOut(TaskItemOut):
    clock: ClockOut | None
    documents: list[str]
    standard_document_set: list[str]
    instructions: str | None
    sent_by: str
    accepted_at: dt.datetime | None
    declined_at: dt.datetime | None
    decline_reason: str | None
    report: ReportOut
    closed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    events: list[EventOut]
    disputes: list[DisputeOut]
    open_dispute: bool


# -- routes -----------------------------------------------------------------------------------------------


def _task(session: TenantSession, request: Request, number: str) -> Any:
    task = task_service.get_task(session, number)
    view = queries.task_view(session, task, request_locale(request))
    return jsonable_encoder(TaskOut.model_validate(view))


@router.get("/api/v1/claims/{number}/provider-tasks", response_model=list[TaskItemOut], responses=_ERRORS)
def get_claim_tasks(number: ClaimNumberPath, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """A claim's provider tasks, newest first, with their clock light and deadline (UTC)."""
    claim = task_service.claim_for(session, number)
    return [
        TaskItemOut.model_validate(item) for item in queries.tasks_of_claim(session, claim.id, request_locale(request))
    ]


@router.post("/api/v1/claims/{number}/provider-tasks", status_code=201, response_model=TaskOut, responses=_ERRORS)
def post_claim_task(
    number: ClaimNumberPath, body: TaskIn, request: Request, principal: SenderDep, session: TenantSession
) -> Any:
    """Send the claim's task to a provider; the deadline comes from the contract's service level (or the kind's
    default) on the tenant's calendar; the provider's contact gets an e-mail with the task's link."""
    task = task_service.send_task(
        session,
        principal,
        claim_number=number,
        provider_code=body.provider_code,
        kind=body.kind,
        documents=body.documents,
        instructions=body.instructions,
    )
    return _task(session, request, task.number)


@router.get("/api/v1/provider-tasks", response_model=TaskPageOut, responses=_ERRORS)
def get_tasks(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    provider: str = Query("", max_length=64, description="a provider code"),
    kind: str = Query("", max_length=32),
    status: str = Query("", max_length=16, description="empty or 'open': sent and accepted; a state; 'all'"),
    overdue: bool = Query(False, description="only open tasks past their deadline"),
    page: int = Query(1, ge=1, le=10_000),
) -> Any:
    """The task queue, nearest deadline first."""
    total, items = queries.open_tasks(
        session,
        provider=provider or None,
        kind=kind or None,
        status=status or None,
        overdue=overdue,
        page=page,
        locale=request_locale(request),
    )
    return TaskPageOut(total=total, page=page, items=[TaskItemOut.model_validate(i) for i in items])


@router.get("/api/v1/provider-tasks/{number}", response_model=TaskOut, responses=_ERRORS)
def get_task(number: TaskNumber, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """One task: clock, documents, report fields, history and disputes."""
    return _task(session, request, number)


@router.post("/api/v1/provider-tasks/{number}/cancel", response_model=TaskOut, responses=_ERRORS)
def post_cancel(
    number: TaskNumber, body: ReasonIn, request: Request, principal: SenderDep, session: TenantSession
) -> Any:
    """Withdraw a task still waiting for the provider (sent, accepted); the provider is told."""
    task_service.cancel_task(session, principal, number, body.reason)
    return _task(session, request, number)


@router.post("/api/v1/provider-tasks/{number}/close", response_model=TaskOut, responses=_ERRORS)
def post_close(
    number: TaskNumber, request: Request, principal: SenderDep, session: TenantSession, body: NoteIn | None = None
) -> Any:
    """Close a task whose report is in and undisputed (or that the provider declined)."""
    task_service.close_task(session, principal, number, body.note if body else None)
    return _task(session, request, number)


@router.post("/api/v1/provider-tasks/{number}/disputes", status_code=201, response_model=TaskOut, responses=_ERRORS)
def post_dispute(
    number: TaskNumber, body: ReasonIn, request: Request, principal: SenderDep, session: TenantSession
) -> Any:
    """The handler disputes the task's report (the claimant does so from the lookup page)."""
    task_service.raise_dispute(session, principal.actor, number, by_kind="handler", reason=body.reason)
    return _task(session, request, number)


@router.post("/api/v1/provider-task-disputes/{dispute_id}/resolve", response_model=TaskOut, responses=_ERRORS)
def post_resolve(
    dispute_id: RowId, body: ResolveIn, request: Request, principal: ResolverDep, session: TenantSession
) -> Any:
    """Decide a dispute: upheld, rejected or withdrawn (a note is required unless withdrawn)."""
    dispute = task_service.resolve_dispute(session, principal, dispute_id, body.outcome, body.note)
    number = task_service.number_of(session, dispute.task_id)
    return _task(session, request, number)
