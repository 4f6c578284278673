"""Service-request read models for the pages and the inbox: the queue (nearest deadline first, filters, one page
of rows), one request with its clocks, history and the articles used, and the peak periods. The customer appears
masked.

The queue's order is the nearest deadline of a request's running clocks (first response, resolution): a correlated
``min(red_due_at)`` over the request's clocks, read through their unique (tenant, request, policy, cycle) index, so
the first page of the open queue costs one pass over the open requests and never over the closed ones
(bench/servicedesk_queue.py: 1 M requests stored)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal_column, select
from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.kb.models import KbArticle
from claimwatch.privacy import field_cipher, mask_id_number, mask_phone
from claimwatch.servicedesk import clocks, peak, repository, service
from claimwatch.servicedesk.models import PeakPeriod, ServiceRequest, ServiceRequestClock
from claimwatch.sla import engine
from claimwatch.web.i18n import N_

PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
OPEN_STATUSES = service.OPEN_STATUSES
STATUS_FILTERS = ("open", *service.STATUSES, "all")
STATUS_FILTER_LABELS: dict[str, str] = service.STATUS_LABELS | {
    "open": N_("Open (not yet resolved)"),
    "all": N_("All"),
}


def request_url(number: str) -> str:
    return f"/service-requests/{number}"


def _due() -> Any:
    """The nearest deadline of a request's running clocks (NULL when none runs: paused or all stopped)."""
    return (
        select(func.min(ServiceRequestClock.red_due_at))
        .where(
            ServiceRequestClock.tenant_id == ServiceRequest.tenant_id,
            ServiceRequestClock.request_id == ServiceRequest.id,
            ServiceRequestClock.state != engine.STOPPED,
        )
        .correlate(ServiceRequest)
        .scalar_subquery()
    )


def _statuses(status: str | None) -> tuple[str, ...]:
    if status in (None, "", "open"):
        return OPEN_STATUSES
    if status == "all":
        return service.STATUSES
    return (status,)


def _filters(
    tenant_id: int,
    category: str | None,
    priority: str | None,
    team: str | None,
    handler_id: int | None,
    unassigned: bool,
    overdue: bool,
    peak: bool,
    now: dt.datetime,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ServiceRequest.tenant_id == tenant_id]
    if category:
        where.append(ServiceRequest.category == category)
    if priority:
        where.append(ServiceRequest.priority == priority)
    if team:
        where.append(ServiceRequest.team == team)
    if handler_id is not None:
        where.append(ServiceRequest.handler_id == handler_id)
    if unassigned:
        where.append(ServiceRequest.handler_id.is_(None))
    if peak:
        where.append(ServiceRequest.peak_period_id.is_not(None))
    if overdue:
        where.append(
            exists()
            .where(
                ServiceRequestClock.tenant_id == ServiceRequest.tenant_id,
                ServiceRequestClock.request_id == ServiceRequest.id,
                ServiceRequestClock.state != engine.STOPPED,
                ServiceRequestClock.red_due_at <= now,
            )
            .correlate(ServiceRequest)
        )
    return where


# The columns a queue row shows (not the whole request: its description and encrypted fields stay unread).
_ROW = (
    ServiceRequest.id,
    ServiceRequest.number,
    ServiceRequest.channel,
    ServiceRequest.category,
    ServiceRequest.priority,
    ServiceRequest.subject,
    ServiceRequest.status,
    ServiceRequest.team,
    ServiceRequest.handler_id,
    ServiceRequest.customer_name_masked,
    ServiceRequest.received_at,
    ServiceRequest.peak_period_id,
)


def _status_in(statuses: list[str]) -> ColumnElement[bool]:
    return ServiceRequest.status == statuses[0] if len(statuses) == 1 else ServiceRequest.status.in_(statuses)


def _rare(session: Session, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """On SQLite, tell the planner the open requests are few (its statistics, when ANALYZE ran at all, keep no
    skew): else it walks every request of the tenant by (tenant, received) instead of the open ones by status."""
    if session.get_bind().dialect.name == "sqlite":
        return func.likelihood(condition, literal_column("0.05"))
    return condition


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.execute(select(func.count()).select_from(ServiceRequest).where(*where)).scalar_one())


def queue(
    session: Session,
    tenant_id: int,
    *,
    status: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    handler_id: int | None = None,
    unassigned: bool = False,
    overdue: bool = False,
    peak: bool = False,
    page: int = 1,
    limit: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, rows): the open requests first, by nearest running deadline (those with none, paused, after them,
    oldest first); then the finished ones (resolved, closed, cancelled: no clock runs), newest first. The two parts
    are read apart, so a page never computes deadlines for finished requests nor sorts them all."""
    moment = now or utc_now()
    common = _filters(tenant_id, category, priority, team, handler_id, unassigned, overdue, peak, moment)
    statuses = _statuses(status)
    open_part = [s for s in statuses if s in OPEN_STATUSES]
    done_part = [s for s in statuses if s not in OPEN_STATUSES]
    open_total = _count(session, [*common, _status_in(open_part)]) if open_part else 0
    done_total = _count(session, [*common, _status_in(done_part)]) if done_part and not overdue else 0
    total = open_total + done_total
    if limit <= 0 or total == 0:
        return total, []
    offset = (page - 1) * limit
    requests: list[Any] = []
    if open_part and offset < open_total:
        statement = (
            select(*_ROW)
            .where(*common, _rare(session, _status_in(open_part)))
            .order_by(_due().asc().nulls_last(), ServiceRequest.received_at, ServiceRequest.id)
            .limit(limit)
            .offset(offset)
        )
        requests += session.execute(statement).all()
    if done_total and len(requests) < limit:
        statement = (
            select(*_ROW)
            .where(*common, _status_in(done_part))
            .order_by(ServiceRequest.received_at.desc(), ServiceRequest.id.desc())
            .limit(limit - len(requests))
            .offset(max(0, offset - open_total))
        )
        requests += session.execute(statement).all()
    nearest = _nearest_clocks(session, tenant_id, [r.id for r in requests])
    names = repository.usernames(session, [r.handler_id for r in requests])
    return total, [_item(r, nearest.get(r.id), names, moment) for r in requests]


def _nearest_clocks(session: Session, tenant_id: int, ids: list[int]) -> dict[int, ServiceRequestClock]:
    """Each request's running clock due first (its light is the row's light)."""
    if not ids:
        return {}
    rows = session.execute(
        select(ServiceRequestClock).where(
            ServiceRequestClock.tenant_id == tenant_id,
            ServiceRequestClock.request_id.in_(ids),
            ServiceRequestClock.state != engine.STOPPED,
        )
    ).scalars()
    nearest: dict[int, ServiceRequestClock] = {}
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    for clock in rows:
        best = nearest.get(clock.request_id)
        if best is None or (clock.red_due_at or far) < (best.red_due_at or far):
            nearest[clock.request_id] = clock
    return nearest


def _item(request: Any, clock: ServiceRequestClock | None, names: dict[int, str], now: dt.datetime) -> dict[str, Any]:
    return {
        "id": request.id,
        "number": request.number,
        "channel": request.channel,
        "category": request.category,
        "priority": request.priority,
        "subject": request.subject,
        "status": request.status,
        "team": request.team,
        "handler": names.get(request.handler_id) if request.handler_id is not None else None,
        "customer": request.customer_name_masked,
        "received_at": request.received_at,
        "due_at": clock.red_due_at if clock is not None else None,
        "due_policy": clock.policy_code if clock is not None else None,
        "light": clocks.light(clock, now),
        "peak": request.peak_period_id is not None,
    }


def _decrypted(value: str | None) -> str | None:
    return field_cipher().decrypt(value) if value else None


def articles(session: Session, ids: Iterable[int]) -> list[dict[str, Any]]:
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    rows = session.execute(select(KbArticle.id, KbArticle.code, KbArticle.title).where(KbArticle.id.in_(wanted)))
    return [{"id": row.id, "code": row.code, "title": row.title} for row in rows]


def request_view(session: Session, request: ServiceRequest, now: dt.datetime | None = None) -> dict[str, Any]:
    """One request as its page shows it: the facts (customer masked), clocks, history, articles used, links."""
    moment = now or utc_now()
    names = repository.usernames(session, [request.handler_id])
    nearest = _nearest_clocks(session, request.tenant_id, [request.id]).get(request.id)
    claim_number = repository.claim_numbers(session, [request.claim_id]).get(request.claim_id or 0)
    period = session.get(PeakPeriod, request.peak_period_id) if request.peak_period_id is not None else None
    events = repository.events_of(session, request.id)
    return _item(request, nearest, names, moment) | {
        "description": request.description,
        "external_ref": request.external_ref,
        "phone": mask_phone(_decrypted(request.phone_enc)) if request.phone_enc else None,
        "id_number": mask_id_number(_decrypted(request.id_number_enc)) if request.id_number_enc else None,
        "policy_number": request.policy_number,
        "claim_number": claim_number,
        "complaint_number": repository.complaint_number(session, request.complaint_id),
        "first_response_at": request.first_response_at,
        "resolved_at": request.resolved_at,
        "closed_at": request.closed_at,
        "resolution_code": request.resolution_code,
        "resolution_note": request.resolution_note,
        "first_contact_resolved": request.first_contact_resolved,
        "peak_period": peak.period_view(period, moment) if period is not None else None,
        "clocks": clocks.views_for(session, request, moment),
        "events": [
            {"kind": e.kind, "actor": e.actor, "at": e.at, "text": e.text, "detail": e.detail or {}} for e in events
        ],
        "articles_used": articles(session, request.articles_used or []),
        "keywords": request.keywords or "",
    }


def peak_periods(session: Session, tenant_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The tenant's peak periods, newest first, as :func:`peak.period_view` shows them."""
    moment = now or utc_now()
    return [peak.period_view(period, moment) for period in peak.periods(session, tenant_id)]
