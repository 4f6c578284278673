"""Service-request reads: by number or external reference, the year's last number, events and clocks, the list
with its filters, the users a request names, claims and complaints by id. ORM selects are tenant-filtered by
``claimwatch.db``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestClock, ServiceRequestEvent
from claimwatch.tenancy.models import OrgUnit


def by_number(session: Session, number: str, *, lock: bool = False) -> ServiceRequest | None:
    statement = select(ServiceRequest).where(ServiceRequest.number == number)
    if lock and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def by_external_ref(session: Session, external_ref: str) -> ServiceRequest | None:
    statement = select(ServiceRequest).where(ServiceRequest.external_ref == external_ref).order_by(ServiceRequest.id)
    return session.execute(statement.limit(1)).scalar_one_or_none()


def existing_refs(session: Session, refs: Iterable[str]) -> set[str]:
    wanted = sorted(set(refs))
    if not wanted:
        return set()
    statement = select(ServiceRequest.external_ref).where(ServiceRequest.external_ref.in_(wanted))
    return {ref for ref in session.execute(statement).scalars() if ref}


def last_number(session: Session, prefix: str) -> str | None:
    """The highest number with ``prefix`` (numbers are zero-padded: the text order is the number order)."""
    statement = select(func.max(ServiceRequest.number)).where(ServiceRequest.number.like(f"{prefix}%"))
    return session.execute(statement).scalar_one_or_none()


def events_of(session: Session, request_id: int) -> list[ServiceRequestEvent]:
    statement = (
        select(ServiceRequestEvent)
        .where(ServiceRequestEvent.request_id == request_id)
        .order_by(ServiceRequestEvent.at, ServiceRequestEvent.id)
    )
    return list(session.execute(statement).scalars())


def event_kinds(session: Session, request_id: int) -> list[str]:
    statement = (
        select(ServiceRequestEvent.kind)
        .where(ServiceRequestEvent.request_id == request_id)
        .order_by(ServiceRequestEvent.at, ServiceRequestEvent.id)
    )
    return list(session.execute(statement).scalars())


def clocks_of(session: Session, request_id: int) -> list[ServiceRequestClock]:
    statement = (
        select(ServiceRequestClock)
        .where(ServiceRequestClock.request_id == request_id)
        .order_by(ServiceRequestClock.policy_code, ServiceRequestClock.cycle)
    )
    return list(session.execute(statement).scalars())


def tenant_user(session: Session, tenant_id: int, username: str) -> User | None:
    return session.execute(
        select(User).where(User.tenant_id == tenant_id, User.username == username, User.active.is_(True))
    ).scalar_one_or_none()


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {row_id: name for row_id, name in session.execute(select(User.id, User.username).where(User.id.in_(wanted)))}


def claim_numbers(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(select(Claim.id, Claim.number).where(Claim.id.in_(wanted)))
    return {row_id: number for row_id, number in rows}


def complaint_number(session: Session, complaint_id: int | None) -> str | None:
    if complaint_id is None:
        return None
    return session.execute(select(Complaint.number).where(Complaint.id == complaint_id)).scalar_one_or_none()


def org_code(session: Session, org_unit_id: int | None) -> str | None:
    if org_unit_id is None:
        return None
    return session.execute(select(OrgUnit.code).where(OrgUnit.id == org_unit_id)).scalar_one_or_none()


@dataclass(frozen=True)
class Filters:
    statuses: Sequence[str] = ()
    category: str | None = None
    priority: str | None = None
    team: str | None = None
    handler_id: int | None = None
    unassigned: bool = False
    channel: str | None = None
    customer_key: str | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None


def listing(session: Session, filters: Filters, *, page: int = 1, size: int = 50) -> tuple[int, list[ServiceRequest]]:
    """(total, one page newest first) of the requests the filters keep."""
    statement = select(ServiceRequest)
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(ServiceRequest.status.in_(list(filters.statuses)))
    if filters.category:
        conditions.append(ServiceRequest.category == filters.category)
    if filters.priority:
        conditions.append(ServiceRequest.priority == filters.priority)
    if filters.team:
        conditions.append(ServiceRequest.team == filters.team)
    if filters.handler_id is not None:
        conditions.append(ServiceRequest.handler_id == filters.handler_id)
    if filters.unassigned:
        conditions.append(ServiceRequest.handler_id.is_(None))
    if filters.channel:
        conditions.append(ServiceRequest.channel == filters.channel)
    if filters.customer_key:
        conditions.append(ServiceRequest.customer_key == filters.customer_key)
    if filters.received_from is not None:
        conditions.append(ServiceRequest.received_at >= filters.received_from)
    if filters.received_to is not None:
        conditions.append(ServiceRequest.received_at < filters.received_to)
    statement = statement.where(*conditions)
    total = session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    rows = session.execute(
        statement.order_by(ServiceRequest.received_at.desc(), ServiceRequest.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).scalars()
    return int(total), list(rows)
