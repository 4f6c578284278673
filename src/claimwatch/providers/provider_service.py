"""What a provider does with its own tasks (its API key or its signed task link): accept, decline, and send the
report with the kind's fields and an optional file. No HTTP here; the routes are
:mod:`claimwatch.providers.provider_api` and :mod:`claimwatch.providers.portal_pages`.

The caller is always a provider (role ``provider`` with its ``provider_id``): every read and write is filtered on
that provider, so a task of another provider (or of another insurer: the session is scoped to the key's) is
"not found", exactly like a task that does not exist: its existence is never revealed.

A report is refused as a whole (nothing written, one problem per bad field) unless it carries every field its
kind requires (``defaults/providers/task_kinds.yaml``). On a report the task's clock stops (:func:`task_service.
finish_clock`) and the task is judged once: ``on_time`` (reported by ``due_at``) and ``standard`` with its
reasons (:func:`task_service.evaluate_standard`). The file is stored like the claim's documents (by its SHA-256,
the content checked against its declared type) and its digest goes into the audit chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.errors import Conflict, FieldProblem, Invalid, NotFound
from claimwatch.materials import content as materials_content
from claimwatch.materials import service as materials_service
from claimwatch.materials import storage
from claimwatch.materials.storage import StagedFile
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR, clean_text, event_time
from claimwatch.providers import loader, task_service
from claimwatch.providers.loader import RequiredField, TaskKind
from claimwatch.providers.models import Provider, ProviderTask
from claimwatch.workflow import service as workflow_service

MAX_REASON = 1000
MAX_FIELD_TEXT = 4000
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
UNKNOWN_TASK = "no such task"


# --- whose task -------------------------------------------------------------------------------------------


def provider_of(principal: Principal) -> int:
    """The caller's provider; a caller that is not a provider's key or link is refused (403)."""
    if principal.provider_id is None or not principal.can(Permission.ANSWER_PROVIDER_TASKS):
        raise AccessDenied(f"role {principal.role.value!r} does not answer provider tasks")
    return principal.provider_id


def _mine(principal: Principal) -> Select[ProviderTask]:
    return select(ProviderTask).where(ProviderTask.provider_id == provider_of(principal))


def my_task(session: Session, principal: Principal, task_number: str, *, for_update: bool = False) -> ProviderTask:
    """The caller's task ``task_number``; NotFound for any other (another provider's, another insurer's, none).
    ``for_update``: the lock order of every task action (:mod:`task_service`): the tenant's audit-chain head
    first, then the task read again."""
    provider_id = provider_of(principal)
    if for_update and principal.tenant_id is not None:
        audit_service.open_chain(session, principal.tenant_id).close()
    task = session.execute(_mine(principal).where(ProviderTask.number == task_number)).scalar_one_or_none()
    if task is None or task.provider_id != provider_id:
        raise NotFound("task", UNKNOWN_TASK)
    if for_update:
        session.refresh(task)
    return task


def my_tasks(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[ProviderTask]:
    """The caller's tasks: open ones first, nearest deadline first; then the rest, latest sent first."""
    statement = _mine(principal)
    if status:
        statement = statement.where(ProviderTask.status == status)
    is_open = ProviderTask.status.in_(task_service.OPEN)
    statement = statement.order_by(
        case((is_open, 0), else_=1),
        case((is_open, ProviderTask.due_at), else_=None),
        ProviderTask.sent_at.desc(),
        ProviderTask.id.desc(),
    )
    return list(session.execute(statement.limit(limit).offset(offset)).scalars())


def _provider(session: Session, task: ProviderTask) -> Provider:
    return session.execute(select(Provider).where(Provider.id == task.provider_id)).scalar_one()


def _actor(session: Session, task: ProviderTask) -> str:
    """The task history's actor for what the provider did (``provider:CODE``), whichever key or link it used."""
    return f"provider:{_provider(session, task).code}"


def _refuse_closed(task: ProviderTask, action: str) -> None:
    if task.status not in task_service.OPEN:
        raise task_service.WrongTaskState(task, action, task_service.OPEN)


# --- accept and decline -----------------------------------------------------------------------------------


def accept(session: Session, principal: Principal, task_number: str, *, at: dt.datetime | None = None) -> ProviderTask:
    """Accept a sent task (sent → accepted). Accepting it again changes nothing."""
    task = my_task(session, principal, task_number, for_update=True)
    if task.status == task_service.ACCEPTED:
        return task
    _refuse_closed(task, "accept")
    when = event_time(at, task.sent_at, floor_event="the task was sent")
    task.status = task_service.ACCEPTED
    task.accepted_at = when
    task_service.record_event(session, task, "accepted", _actor(session, task), {"via": principal.actor}, at=when)
    session.flush()
    return task


def decline(
    session: Session, principal: Principal, task_number: str, reason: str | None, *, at: dt.datetime | None = None
) -> ProviderTask:
    """Decline a task (sent | accepted → declined), with a reason. Its clock stops: the handler sends it to
    another provider. It is judged neither on time nor standard here (no report); the KPIs leave it out."""
    task = my_task(session, principal, task_number, for_update=True)
    _refuse_closed(task, "decline")
    written = clean_text(reason, "reason", True, MAX_REASON)
    when = event_time(at, task.sent_at, floor_event="the task was sent")
    task.status = task_service.DECLINED
    task.declined_at = when
    task.decline_reason = written
    task_service.void_clock(session, task, when)
    detail = {"reason": written, "via": principal.actor}
    task_service.record_event(session, task, "declined", _actor(session, task), detail, at=when)
    session.flush()
    return task


# --- the report ---------------------------------------------------------------------------------------------


def _field_value(spec: RequiredField, raw: object) -> tuple[object | None, str | None]:
    """A report field's value as stored (amounts as Decimal, dates ISO text), or the reason it is refused."""
    kind = spec.type
    if isinstance(raw, bool) or isinstance(raw, (dict, list)):
        return None, "a single value"
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if kind == "amount":
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return None, "an amount such as 12800.00"
        if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
            return None, f"an amount from 0 to {MAX_AMOUNT} with at most 2 decimals"
        return amount.quantize(Decimal("0.01")), None
    if kind == "date":
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None, "a date YYYY-MM-DD"
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            return None, f"a date in the years {EARLIEST_YEAR}–{LATEST_YEAR}"
        return day.isoformat(), None
    if kind == "choice":
        choices = [choice.value for choice in spec.choices]
        if text not in choices:
            return None, f"one of {', '.join(choices)}"
        return text, None
    if len(text) > MAX_FIELD_TEXT:
        return None, f"at most {MAX_FIELD_TEXT} characters"
    return clean_text(text, "field", False, MAX_FIELD_TEXT), None


def check_fields(task_kind: TaskKind, fields: Mapping[str, object]) -> dict[str, object]:
    """The report's fields as stored, or :class:`Invalid` with one problem per missing, unknown or bad field
    (each named by the field's own name)."""
    specs = {spec.name: spec for spec in task_kind.required_fields}
    problems: list[FieldProblem] = []
    for name in fields:
        if name not in specs:
            problems.append(
                FieldProblem(str(name), f"not a field of a {task_kind.code} report (known: {', '.join(specs)})")
            )
    values: dict[str, object] = {}
    for name, spec in specs.items():
        raw = fields.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems.append(FieldProblem(name, f"{name} is required in a {task_kind.code} report"))
            continue
        value, refused = _field_value(spec, raw)
        if refused is not None:
            problems.append(FieldProblem(name, f"{name} must be {refused}"))
        else:
            values[name] = value
    if problems:
        first = problems[0]
        raise Invalid(first.field, f"the report is incomplete or wrong: {first.message}", problems=problems)
    return values


def _check_file(upload: StagedFile, content_type: str | None) -> str:
    normalised = materials_service.check_content_type(content_type)
    if not materials_service.content_matches(normalised, upload.head):
        raise Invalid("file", f"the content is not a {materials_service.ALLOWED_CONTENT_TYPES[normalised]} file")
    refused = materials_content.refusal(normalised, upload.path, upload.head, upload.size)
    if refused is not None:
        raise Invalid("file", refused)
    return normalised


def submit_report(
    session: Session,
    principal: Principal,
    task_number: str,
    *,
    fields: Mapping[str, object],
    upload: StagedFile | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    at: dt.datetime | None = None,
) -> ProviderTask:
    """The provider's report on an open task (sent | accepted → reported): the kind's required fields and an
    optional file (PDF, image or OFD, checked like a claim's documents). One report per task: a wrong report is
    disputed, not replaced. Every refusal raises before anything is written."""
    task = my_task(session, principal, task_number, for_update=True)
    _refuse_closed(task, "report")
    kind = loader.task_kinds(session, task.tenant_id).get(task.kind)
    if kind is None:
        raise Conflict("kind", f"task kind {task.kind!r} is no longer configured")
    if not isinstance(fields, Mapping):
        raise Invalid("fields", "the report's fields are an object of name: value")
    values = check_fields(kind, fields)
    normalised = _check_file(upload, content_type) if upload is not None else None
    when = event_time(at, task.sent_at, floor_event="the task was sent")

    if upload is not None:
        relative = f"{task.tenant_id}/provider-tasks/{task.id}/{upload.sha256}"
        storage.place(upload, relative)
        task.report_storage_key = relative
        task.report_sha256 = upload.sha256
        task.report_filename = materials_service.sanitise_filename(filename)
    amount = values.get("amount_assessed")
    task.amount_assessed = amount if isinstance(amount, Decimal) else None
    conclusion = values.get("conclusion")
    task.conclusion = conclusion if isinstance(conclusion, str) else None
    task.report_fields = {
        name: str(value) if isinstance(value, Decimal) else value
        for name, value in values.items()
        if name not in ("amount_assessed", "conclusion")
    }
    if task.accepted_at is None:
        task.accepted_at = when  # a report answers for the acceptance too
    task.reported_at = when
    task.status = task_service.REPORTED
    task_service.finish_clock(session, task, when)  # sets on_time (a task the sweep found late stays late)
    standard, reasons = task_service.evaluate_standard(task, kind)
    task.standard = standard
    task.standard_reasons = list(reasons)
    detail: dict[str, object] = {
        "via": principal.actor,
        "fields": {name: str(value) for name, value in sorted(values.items())},
        "on_time": task.on_time,
        "standard": standard,
        "reasons": list(reasons),
    }
    if upload is not None:
        # The file's digest in the audit chain (with the event's own entry).
        detail |= {
            "filename": task.report_filename,
            "sha256": upload.sha256,
            "size": upload.size,
            "content_type": normalised,
        }
    task_service.record_event(session, task, "reported", _actor(session, task), detail, at=when)
    session.flush()
    return task


# --- what the provider sees ---------------------------------------------------------------------------------


def task_view(session: Session, task: ProviderTask, locale: str = "zh") -> dict[str, Any]:
    """One task as its provider sees it: what to do, by when, and what it sent. The claim's line and region
    only: no claim number, no claimant, no staff, no insurer's internals (handler, rule, contract)."""
    kind = loader.task_kinds(session, task.tenant_id).get(task.kind)
    return {
        "number": task.number,
        "kind": task.kind,
        "kind_label": kind.name(locale) if kind is not None else task.kind,
        "status": task.status,
        "line": task.line,
        "line_label": workflow_service.line_label(task.line, locale) if task.line else None,
        "region_code": task.region_code,
        "sent_at": task.sent_at,
        "due_at": task.due_at,
        "accepted_at": task.accepted_at,
        "declined_at": task.declined_at,
        "decline_reason": task.decline_reason,
        "reported_at": task.reported_at,
        "documents": list(task.documents or []),
        "instructions": task.instructions,
        "required_fields": [_field_dict(spec, locale) for spec in (kind.required_fields if kind else ())],
        "report": _report(task) if task.reported_at is not None else None,
        "on_time": task.on_time,
        "open": task.status in task_service.OPEN,
    }


def _report(task: ProviderTask) -> dict[str, Any]:
    fields: dict[str, object] = {}
    if task.amount_assessed is not None:
        fields["amount_assessed"] = str(task.amount_assessed)
    if task.conclusion is not None:
        fields["conclusion"] = task.conclusion
    fields |= dict(task.report_fields or {})
    return {"fields": fields, "filename": task.report_filename, "sha256": task.report_sha256}


def _field_dict(spec: RequiredField, locale: str) -> dict[str, Any]:
    return {
        "name": spec.name,
        "type": spec.type,
        "label": spec.label(locale),
        "choices": [{"value": c.value, "label": c.label(locale)} for c in spec.choices],
    }
