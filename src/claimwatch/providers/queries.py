"""Read models of provider tasks for the staff pages and API: a claim's tasks with their clocks, one task with its
history, disputes and report, the open-task queue (nearest deadline first) and a provider's recent tasks.

Nothing here shows the provider's contact in clear; the claimant's lookup has its own view (h5's page_queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.providers import clocks, loader, task_service
from claimwatch.providers.loader import TaskKind
from claimwatch.providers.models import Provider, ProviderTask, ProviderTaskEvent, TaskDispute
from claimwatch.sla import service as sla_service
from claimwatch.tenancy.models import OrgUnit, Tenant
from claimwatch.web.i18n import translate

PAGE_SIZE = 50
RECENT = 20


def _label(labels: dict[str, str], value: str | None, locale: str) -> str:
    if value is None:
        return ""
    text = labels.get(value)
    return translate(locale, text) if text else value


class _Rows:
    """Tasks with their providers, claims and clocks, read in three queries."""

    def __init__(self, session: Session, tasks: list[ProviderTask], now: dt.datetime) -> None:
        self.session = session
        self.now = now
        provider_ids = sorted({t.provider_id for t in tasks})
        claim_ids = sorted({t.claim_id for t in tasks})
        self.providers = (
            {p.id: p for p in session.execute(select(Provider).where(Provider.id.in_(provider_ids))).scalars()}
            if provider_ids
            else {}
        )
        self.claims = (
            {c.id: c.number for c in session.execute(select(Claim).where(Claim.id.in_(claim_ids))).scalars()}
            if claim_ids
            else {}
        )
        self.clocks = clocks.clocks_of(session, [t.id for t in tasks])
        self.axes: dict[int, sla_service.Axes] = {}
        self.kinds: dict[int, dict[str, TaskKind]] = {}

    def item(self, task: ProviderTask, locale: str) -> dict[str, Any]:
        if task.tenant_id not in self.axes:
            self.axes[task.tenant_id] = sla_service.Axes(self.session, task.tenant_id)
            self.kinds[task.tenant_id] = loader.task_kinds(self.session, task.tenant_id)
        clock = self.clocks.get(task.id)
        axis = self.axes[task.tenant_id](clock.unit) if clock is not None else None
        provider = self.providers.get(task.provider_id)
        is_open = task.status in task_service.OPEN
        return {
            "number": task.number,
            "tenant_id": task.tenant_id,
            "claim_number": self.claims.get(task.claim_id, ""),
            "kind": task.kind,
            "kind_label": task_service.kind_name(self.kinds[task.tenant_id], task.kind, locale),
            "provider_code": provider.code if provider is not None else "",
            "provider_name": provider.name if provider is not None else "",
            "status": task.status,
            "status_label": _label(task_service.STATUS_LABELS, task.status, locale),
            "sent_at": task.sent_at,
            "sent_by_rule": task.sent_by_rule,
            "due_at": task.due_at,
            "level": f"{task.level_days} {task.level_unit}",
            "level_days": task.level_days,
            "level_unit": task.level_unit,
            "light": clocks.light(clock, self.now, axis),
            "overdue": is_open and self.now >= task.due_at,
            "reported_at": task.reported_at,
            "on_time": task.on_time,
            "standard": task.standard,
            "standard_reasons": list(task.standard_reasons or []),
            "standard_reason_labels": [
                _label(task_service.REASON_LABELS, r, locale) for r in task.standard_reasons or []
            ],
            "standard_documents": task.standard_documents,
            "url": task_service.task_url(task),
        }


def tasks_of_claim(
    session: Session, claim_id: int, locale: str, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """A claim's tasks, newest first, each with its clock light and deadline."""
    tasks = list(
        session.execute(
            select(ProviderTask)
            .where(ProviderTask.claim_id == claim_id)
            .order_by(ProviderTask.sent_at.desc(), ProviderTask.id.desc())
        ).scalars()
    )
    rows = _Rows(session, tasks, now or utc_now())
    return [rows.item(task, locale) for task in tasks]


def task_view(session: Session, task: ProviderTask, locale: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """One task: its summary, clock, documents, instructions, report fields, history and disputes."""
    at = now or utc_now()
    rows = _Rows(session, [task], at)
    view = rows.item(task, locale)
    clock = rows.clocks.get(task.id)
    axis = sla_service.Axes(session, task.tenant_id)(clock.unit) if clock is not None else None
    kind = rows.kinds[task.tenant_id].get(task.kind)
    fields = [
        {"name": spec.name, "label": spec.label(locale), "value": task_service.report_value(task, spec.name)}
        for spec in (kind.required_fields if kind is not None else ())
    ]
    known = {f["name"] for f in fields}
    for name, value in sorted((task.report_fields or {}).items()):
        if name not in known:
            fields.append({"name": name, "label": name, "value": value})
    events = session.execute(
        select(ProviderTaskEvent)
        .where(ProviderTaskEvent.task_id == task.id)
        .order_by(ProviderTaskEvent.at, ProviderTaskEvent.id)
    ).scalars()
    disputes = list(
        session.execute(
            select(TaskDispute).where(TaskDispute.task_id == task.id).order_by(TaskDispute.raised_at, TaskDispute.id)
        ).scalars()
    )
    view |= {
        "clock": clocks.clock_view(clock, at, axis),
        "documents": list(task.documents or []),
        "standard_document_set": list(kind.standard_documents) if kind is not None else [],
        "instructions": task.instructions,
        "handler_user_id": task.handler_user_id,
        "sent_by": task.sent_by,
        "accepted_at": task.accepted_at,
        "declined_at": task.declined_at,
        "decline_reason": task.decline_reason,
        "report": {
            "reported_at": task.reported_at,
            "filename": task.report_filename,
            "sha256": task.report_sha256,
            "has_file": task.report_storage_key is not None,
            "fields": fields,
        },
        "closed_at": task.closed_at,
        "cancelled_at": task.cancelled_at,
        "cancel_reason": task.cancel_reason,
        "events": [{"at": e.at, "action": e.action, "actor": e.actor, "detail": dict(e.detail or {})} for e in events],
        "disputes": [
            {
                "id": d.id,
                "raised_by_kind": d.raised_by_kind,
                "raised_by": d.raised_by,
                "reason": d.reason,
                "raised_at": d.raised_at,
                "outcome": d.outcome,
                "outcome_label": _label(task_service.OUTCOME_LABELS, d.outcome, locale),
                "resolution_note": d.resolution_note,
                "resolved_by": d.resolved_by,
                "resolved_at": d.resolved_at,
            }
            for d in disputes
        ],
        "open_dispute": any(d.outcome is None for d in disputes),
    }
    return view


@dataclass(frozen=True)
class TaskDrill:
    """The filters of a KPI drill-down into the task list (the dashboard's ``provider_standard_rate`` and
    ``provider_report_on_time`` links, /providers/performance): the same rows the KPI counts.

    ``due_from``/``due_until``: UTC bounds on ``due_at`` (until exclusive: the page turns local days into them);
    ``standard``/``on_time``: the verdict; ``judged``: a verdict is in (True) or not yet (False) — any verdict
    filter leaves cancelled tasks out, as the KPIs do; ``region``/``line``: the task's (copied from the claim);
    ``unit``: the claim's org unit exactly, ``org``: that unit and its subtree; ``tenant``: an insurer's code (a
    regulator's session reads every insurer; an insurer's own session only its own rows anyway)."""

    due_from: dt.datetime | None = None
    due_until: dt.datetime | None = None
    standard: bool | None = None
    on_time: bool | None = None
    judged: bool | None = None
    region: str | None = None
    line: str | None = None
    unit: int | None = None
    org: int | None = None
    tenant: str | None = None

    def conditions(self) -> list[Any]:
        where: list[Any] = []
        if self.due_from is not None:
            where.append(ProviderTask.due_at >= self.due_from)
        if self.due_until is not None:
            where.append(ProviderTask.due_at < self.due_until)
        for column, wanted in ((ProviderTask.standard, self.standard), (ProviderTask.on_time, self.on_time)):
            if wanted is not None:
                where.append(column.is_(wanted))
        if self.judged is not None:
            where.append(ProviderTask.standard.is_not(None) if self.judged else ProviderTask.standard.is_(None))
        if self.standard is not None or self.on_time is not None or self.judged is not None:
            where.append(ProviderTask.status != task_service.CANCELLED)
        if self.region:
            where.append(ProviderTask.region_code == self.region)
        if self.line:
            where.append(ProviderTask.line == self.line)
        if self.unit is not None:
            where.append(ProviderTask.claim_id.in_(select(Claim.id).where(Claim.org_unit_id == self.unit)))
        if self.org is not None:
            units = select(OrgUnit.id).where(OrgUnit.path.like(f"%/{self.org}/%"))
            where.append(ProviderTask.claim_id.in_(select(Claim.id).where(Claim.org_unit_id.in_(units))))
        if self.tenant:
            where.append(ProviderTask.tenant_id.in_(select(Tenant.id).where(Tenant.code == self.tenant)))
        return where


def open_tasks(
    session: Session,
    *,
    provider: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    drill: TaskDrill | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    locale: str = "zh",
    now: dt.datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """The task queue, nearest deadline first: open tasks (sent, accepted) unless ``status`` names one (or
    ``all``); ``provider`` is a provider code; ``overdue``: only open tasks past their deadline; ``drill``: a KPI
    drill-down's filters (:class:`TaskDrill`; the caller passes ``status="all"`` with it). Returns (total, the
    page's rows)."""
    at = now or utc_now()
    where: list[Any] = []
    if status in (None, "", "open"):
        where.append(ProviderTask.status.in_(task_service.OPEN))
    elif status != "all":
        where.append(ProviderTask.status == status)
    if kind:
        where.append(ProviderTask.kind == kind)
    if provider:
        where.append(ProviderTask.provider_id.in_(select(Provider.id).where(Provider.code == provider)))
    if overdue:
        where.append(ProviderTask.status.in_(task_service.OPEN))
        where.append(ProviderTask.due_at <= at)
    if drill is not None:
        where += drill.conditions()
    total = session.execute(select(func.count()).select_from(ProviderTask).where(*where)).scalar_one()
    page = max(1, page)
    tasks = list(
        session.execute(
            select(ProviderTask)
            .where(*where)
            .order_by(ProviderTask.due_at, ProviderTask.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).scalars()
    )
    rows = _Rows(session, tasks, at)
    return int(total), [rows.item(task, locale) for task in tasks]


def tasks_of_provider(
    session: Session, provider_id: int, limit: int = RECENT, locale: str = "zh", now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """A provider's most recent tasks (its page's "recent tasks" block)."""
    tasks = list(
        session.execute(
            select(ProviderTask)
            .where(ProviderTask.provider_id == provider_id)
            .order_by(ProviderTask.sent_at.desc(), ProviderTask.id.desc())
            .limit(limit)
        ).scalars()
    )
    rows = _Rows(session, tasks, now or utc_now())
    return [rows.item(task, locale) for task in tasks]


def open_task_counts(session: Session, provider_ids: list[int]) -> dict[int, int]:
    """How many open tasks (sent, accepted) each provider has: the least busy gets a rule's task."""
    if not provider_ids:
        return {}
    rows = session.execute(
        select(ProviderTask.provider_id, func.count())
        .where(ProviderTask.provider_id.in_(provider_ids), ProviderTask.status.in_(task_service.OPEN))
        .group_by(ProviderTask.provider_id)
    ).all()
    return {int(provider_id): int(count) for provider_id, count in rows}
