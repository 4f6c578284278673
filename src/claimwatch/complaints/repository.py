"""Queries of complaints, their events and clocks, and tenant volumes. No commits here.

Tenant scoping is automatic for ORM queries in a tenant session; the sweep runs in the system context
and passes ``tenant_id`` explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint, ComplaintClock, ComplaintEvent, TenantVolume

CLOSED_STATUSES = ("closed", "withdrawn")


def by_number(session: Session, number: str) -> list[Complaint]:
    """Every complaint with this number the session may see (one in a tenant; a regulator may see more)."""
    return list(session.execute(select(Complaint).where(Complaint.number == number)).scalars())


def by_external_ref(session: Session, external_ref: str) -> Complaint | None:
    return session.execute(select(Complaint).where(Complaint.external_ref == external_ref)).scalar_one_or_none()


def numbers_with_prefix(session: Session, prefix: str) -> list[str]:
    return list(session.execute(select(Complaint.number).where(Complaint.number.like(f"{prefix}%"))).scalars())


def latest_related(
    session: Session,
    *,
    exclude_id: int,
    customer_key: str | None,
    claim_id: int | None,
    category: str,
    since: dt.datetime,
    until: dt.datetime,
) -> Complaint | None:
    """The most recent complaint of the same customer or on the same claim, in the category, received in
    [since, until] — the one a new complaint repeats."""
    same: list = []
    if customer_key:
        same.append(Complaint.customer_key == customer_key)
    if claim_id is not None:
        same.append(Complaint.claim_id == claim_id)
    if not same:
        return None
    statement = (
        select(Complaint)
        .where(
            or_(*same),
            Complaint.id != exclude_id,
            Complaint.category == category,
            Complaint.received_at >= since,
            Complaint.received_at <= until,
        )
        .order_by(Complaint.received_at.desc(), Complaint.id.desc())
        .limit(1)
    )
    return session.execute(statement).scalar_one_or_none()


def related(session: Session, complaint: Complaint) -> list[Complaint]:
    """Other complaints of the same customer (or on the same claim), oldest first."""
    same: list = []
    if complaint.customer_key:
        same.append(Complaint.customer_key == complaint.customer_key)
    if complaint.claim_id is not None:
        same.append(Complaint.claim_id == complaint.claim_id)
    same.append(Complaint.repeat_of_id == complaint.id)
    if complaint.repeat_of_id is not None:
        same.append(Complaint.id == complaint.repeat_of_id)
    statement = (
        select(Complaint)
        .where(or_(*same), Complaint.id != complaint.id, Complaint.tenant_id == complaint.tenant_id)
        .order_by(Complaint.received_at, Complaint.id)
        .limit(100)
    )
    return list(session.execute(statement).scalars())


def events(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return list(
        session.execute(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id).order_by(ComplaintEvent.id)
        ).scalars()
    )


def clocks(session: Session, complaint_ids: Iterable[int]) -> list[ComplaintClock]:
    ids = sorted(set(complaint_ids))
    found: list[ComplaintClock] = []
    for start in range(0, len(ids), 500):
        found.extend(
            session.execute(
                select(ComplaintClock)
                .where(ComplaintClock.complaint_id.in_(ids[start : start + 500]))
                .order_by(ComplaintClock.complaint_id, ComplaintClock.policy_code, ComplaintClock.cycle)
            ).scalars()
        )
    return found


def listing(
    session: Session,
    *,
    statuses: Iterable[str] | None,
    exclude_statuses: Iterable[str] | None,
    category: str | None,
    channel: str | None,
    org_unit_ids: set[int] | None,
    limit: int,
    tenant_id: int | None = None,
) -> list[Complaint]:
    statement = select(Complaint)
    if tenant_id is not None:
        statement = statement.where(Complaint.tenant_id == tenant_id)
    if statuses is not None:
        statement = statement.where(Complaint.status.in_(list(statuses)))
    if exclude_statuses is not None:
        statement = statement.where(Complaint.status.not_in(list(exclude_statuses)))
    if category is not None:
        statement = statement.where(Complaint.category == category)
    if channel is not None:
        statement = statement.where(Complaint.channel == channel)
    if org_unit_ids is not None:
        statement = statement.where(Complaint.org_unit_id.in_(sorted(org_unit_ids)))
    # The nearest running deadline of each complaint (the review window is the complainant's time, not ours),
    # so the database returns the queue's first rows in the queue's order: nearest first, none last.
    nearest = (
        select(ComplaintClock.complaint_id, func.min(ComplaintClock.yellow_due_at).label("due_at"))
        .where(ComplaintClock.state != "stopped", ComplaintClock.policy_code != "complaint_review_window")
        .group_by(ComplaintClock.complaint_id)
        .subquery()
    )
    statement = (
        statement.outerjoin(nearest, nearest.c.complaint_id == Complaint.id)
        .order_by(nearest.c.due_at.is_(None), nearest.c.due_at, Complaint.received_at, Complaint.id)
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def closed_between(session: Session, since: dt.datetime, until: dt.datetime) -> list[Complaint]:
    statement = (
        select(Complaint)
        .where(Complaint.status == "closed", Complaint.closed_at >= since, Complaint.closed_at < until)
        .order_by(Complaint.closed_at, Complaint.id)
    )
    return list(session.execute(statement).scalars())


# -- the sweep ---------------------------------------------------------------------------------


def complaints_by_ids(session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, Complaint]:
    wanted = sorted(set(ids))
    found: dict[int, Complaint] = {}
    for start in range(0, len(wanted), 500):
        statement = select(Complaint).where(
            Complaint.tenant_id == tenant_id, Complaint.id.in_(wanted[start : start + 500])
        )
        for complaint in session.execute(statement).scalars():
            found[complaint.id] = complaint
    return found


# -- volumes -----------------------------------------------------------------------------------


def volume(session: Session, period: str, org_unit_id: int | None) -> TenantVolume | None:
    statement = select(TenantVolume).where(TenantVolume.period == period)
    statement = statement.where(
        TenantVolume.org_unit_id.is_(None) if org_unit_id is None else TenantVolume.org_unit_id == org_unit_id
    )
    return session.execute(statement).scalar_one_or_none()


def volumes(session: Session, since: str | None = None, until: str | None = None) -> list[TenantVolume]:
    statement = select(TenantVolume).order_by(TenantVolume.period, TenantVolume.org_unit_id)
    if since is not None:
        statement = statement.where(TenantVolume.period >= since)
    if until is not None:
        statement = statement.where(TenantVolume.period <= until)
    return list(session.execute(statement).scalars())


def count_complaints(session: Session) -> int:
    return int(session.execute(select(func.count(Complaint.id))).scalar_one())


def claim_numbers(session: Session, claim_ids: Iterable[int]) -> dict[int, str]:
    """The number of each linked claim (lists show it; scoped like every ORM query)."""
    wanted = sorted(set(claim_ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        statement = select(Claim.id, Claim.number).where(Claim.id.in_(wanted[start : start + 500]))
        found.update({claim_id: number for claim_id, number in session.execute(statement).all()})
    return found


def keyword_texts(
    session: Session,
    *,
    since: dt.datetime,
    until: dt.datetime,
    region_code: str | None = None,
    category: str | None = None,
    tenant_id: int | None = None,
) -> list[Any]:
    """Texts for keyword trends: rows of (received_at, region_code, category, sub_cause, keywords, subject,
    description, complainant_name) received in [since, until); ``keywords`` are the terms stored at intake
    (the text is there for a complaint stored without them). Withdrawn complaints count: they were complaints."""
    statement = select(
        Complaint.received_at,
        Complaint.region_code,
        Complaint.category,
        Complaint.sub_cause,
        Complaint.keywords,
        Complaint.subject,
        Complaint.description,
        Complaint.complainant_name,
    ).where(Complaint.received_at >= since, Complaint.received_at < until)
    if region_code is not None:
        statement = statement.where(Complaint.region_code == region_code)
    if category is not None:
        statement = statement.where(Complaint.category == category)
    if tenant_id is not None:
        statement = statement.where(Complaint.tenant_id == tenant_id)
    return list(session.execute(statement.order_by(Complaint.received_at, Complaint.id)).all())
