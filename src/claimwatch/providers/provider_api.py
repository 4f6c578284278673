"""The provider's own API (``/api/v1/provider/tasks``): a third party's API key lists its tasks, reads one,
accepts, declines and sends its report (multipart: the fields as a JSON object, the file optional).

Thin: the rules are in :mod:`claimwatch.providers.provider_service`. Every route needs ANSWER_PROVIDER_TASKS,
which only a provider's key has (a staff key or session gets 403), and every read and write is filtered on the
key's provider: another provider's task, or another insurer's, is a 404 like a task that does not exist. What a
task shows is what the provider needs: kind, status, deadline, documents, instructions, the claim's line and
region; nothing of the claimant, the staff or the insurer's internals.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import BaseModel, Field

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid
from claimwatch.materials import service as materials_service
from claimwatch.providers import provider_service

router = APIRouter(prefix="/api/v1/provider/tasks", tags=["provider (a third party's own tasks)"])

ProviderDep = Annotated[Principal, Depends(require(Permission.ANSWER_PROVIDER_TASKS))]
TaskNumber = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9._-]+$", description="the task number PT-…")]
MAX_FIELDS_JSON = 64 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not a provider's API key"},
    404: {"description": "no such task of this provider (another provider's task answers the same)"},
    409: {"description": "the task is not open (declined, reported, closed or cancelled)"},
    422: {"description": "a missing or wrong field, each named"},
}


class RequiredFieldOut(BaseModel):
    name: str
    type: str
    label: str
    choices: list[dict[str, str]] = []


class ReportOut(BaseModel):
    fields: dict[str, Any]
    filename: str | None = None
    sha256: str | None = None


class ProviderTaskOut(BaseModel):
    """One task as its provider sees it."""

    number: str
    kind: str
    kind_label: str
    status: str = Field(description="sent | accepted | declined | reported | disputed | closed | cancelled")
    line: str | None = None
    line_label: str | None = None
    region_code: str | None = None
    sent_at: dt.datetime
    due_at: dt.datetime = Field(description="the deadline (UTC) from the contract's service level")
    accepted_at: dt.datetime | None = None
    declined_at: dt.datetime | None = None
    decline_reason: str | None = None
    reported_at: dt.datetime | None = None
    documents: list[str]
    instructions: str | None = None
    required_fields: list[RequiredFieldOut] = Field(description="what the report must carry")
    report: ReportOut | None = None
    on_time: bool | None = None
    open: bool


class ProviderTaskList(BaseModel):
    tasks: list[ProviderTaskOut]


class DeclineIn(BaseModel):
    reason: str = Field(min_length=1, max_length=provider_service.MAX_REASON)


def _out(session: TenantSession, request: Request, task: Any) -> ProviderTaskOut:
    return ProviderTaskOut.model_validate(provider_service.task_view(session, task, request_locale(request)))


@router.get("", response_model=ProviderTaskList, responses=_ERRORS)
def list_my_tasks(
    request: Request,
    principal: ProviderDep,
    session: TenantSession,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """My tasks: open ones first (nearest deadline first), then the rest (latest first)."""
    tasks = provider_service.my_tasks(session, principal, status=status, limit=limit, offset=offset)
    return ProviderTaskList(tasks=[_out(session, request, task) for task in tasks])


@router.get("/{number}", response_model=ProviderTaskOut, responses=_ERRORS)
def get_my_task(number: TaskNumber, request: Request, principal: ProviderDep, session: TenantSession) -> Any:
    return _out(session, request, provider_service.my_task(session, principal, number))


@router.post("/{number}/accept", response_model=ProviderTaskOut, responses=_ERRORS)
def accept_my_task(number: TaskNumber, request: Request, principal: ProviderDep, session: TenantSession) -> Any:
    """Accept the task (sent → accepted); again: no change."""
    return _out(session, request, provider_service.accept(session, principal, number))


@router.post("/{number}/decline", response_model=ProviderTaskOut, responses=_ERRORS)
def decline_my_task(
    number: TaskNumber, body: DeclineIn, request: Request, principal: ProviderDep, session: TenantSession
) -> Any:
    """Decline the task, with a reason (the handler sends it elsewhere)."""
    return _out(session, request, provider_service.decline(session, principal, number, body.reason))


def parse_fields(text: str) -> dict[str, object]:
    """The ``fields`` form part: a JSON object of name → value (amounts as text or numbers)."""
    try:
        value = json.loads(text or "{}", parse_float=Decimal)
    except ValueError as exc:
        raise Invalid("fields", 'a JSON object such as {"conclusion": "…", "amount_assessed": "12800.00"}') from exc
    if not isinstance(value, dict):
        raise Invalid("fields", "a JSON object of name: value")
    return value


@router.post(
    "/{number}/report",
    response_model=ProviderTaskOut,
    responses={
        **_ERRORS,
        413: {"description": "file larger than CLAIMWATCH_MAX_DOCUMENT_BYTES"},
        415: {"description": "content type not accepted, or content not of the declared type"},
    },
)
def report_on_my_task(
    number: TaskNumber,
    request: Request,
    principal: ProviderDep,
    session: TenantSession,
    fields: str = Form(
        ..., max_length=MAX_FIELDS_JSON, description='JSON object, e.g. {"conclusion": "…", "amount_assessed": "…"}'
    ),
    file: UploadFile | None = File(None, description="the report: PDF, JPEG, PNG, HEIC/HEIF, TIFF, WebP or OFD"),
) -> Any:
    """Send the report: the kind's required fields (each missing one named, nothing kept) and the file, whose
    SHA-256 goes into the audit chain. The deadline is judged now: on time, and standard or not."""
    values = parse_fields(fields)
    # Cheap refusals first, so a bad request costs no copy of the file.
    provider_service.my_task(session, principal, number)
    staged = None
    if file is not None and file.filename:
        materials_service.check_content_type(file.content_type)
        staged = materials_service.stage_upload(file.file)
    try:
        task = provider_service.submit_report(
            session,
            principal,
            number,
            fields=values,
            upload=staged,
            filename=file.filename if file is not None else None,
            content_type=file.content_type if file is not None else None,
        )
    finally:
        if staged is not None:
            staged.discard()
    return _out(session, request, task)
