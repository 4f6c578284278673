"""Rows of the sales domain: sales by number, their flags and complaint links (tenant scoping is db.py's; the
tenant is named as well, so a system-context job reads one insurer at a time)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.complaints.models import Complaint
from claimwatch.policies.models import PolicySale, SaleComplaintLink, SaleFlag

OPEN, CLEARED, CONFIRMED = "open", "cleared", "confirmed"
FLAG_STATUSES = (OPEN, CLEARED, CONFIRMED)


def sale_by_number(session: Session, tenant_id: int, number: str) -> PolicySale | None:
    statement = select(PolicySale).where(PolicySale.tenant_id == tenant_id, PolicySale.policy_number == number)
    return session.execute(statement).scalar_one_or_none()


def existing_numbers(session: Session, tenant_id: int, numbers: Collection[str]) -> set[str]:
    if not numbers:
        return set()
    statement = select(PolicySale.policy_number).where(
        PolicySale.tenant_id == tenant_id, PolicySale.policy_number.in_(list(numbers))
    )
    return set(session.execute(statement).scalars())


def flag(
    session: Session, tenant_id: int, rule: str, *, sale_id: int | None, agent_id: int | None, period: str = ""
) -> SaleFlag | None:
    """The one flag of a rule on a sale (or an agent's month); NULLs compared as equal."""
    where = [SaleFlag.tenant_id == tenant_id, SaleFlag.rule == rule, SaleFlag.period == period]
    where.append(SaleFlag.sale_id.is_(None) if sale_id is None else SaleFlag.sale_id == sale_id)
    where.append(SaleFlag.agent_id.is_(None) if agent_id is None else SaleFlag.agent_id == agent_id)
    return session.execute(select(SaleFlag).where(*where).limit(1)).scalar_one_or_none()


def flags_of_sale(session: Session, tenant_id: int, sale_id: int) -> list[SaleFlag]:
    statement = (
        select(SaleFlag)
        .where(SaleFlag.tenant_id == tenant_id, SaleFlag.sale_id == sale_id)
        .order_by(SaleFlag.raised_at, SaleFlag.id)
    )
    return list(session.execute(statement).scalars())


def open_flag_count(session: Session, tenant_id: int, sale_id: int) -> int:
    statement = select(func.count(SaleFlag.id)).where(
        SaleFlag.tenant_id == tenant_id, SaleFlag.sale_id == sale_id, SaleFlag.status == OPEN
    )
    return int(session.execute(statement).scalar_one())


def complaint_by_number(session: Session, tenant_id: int, number: str) -> Complaint | None:
    statement = select(Complaint).where(Complaint.tenant_id == tenant_id, Complaint.number == number)
    return session.execute(statement).scalar_one_or_none()


def link(session: Session, tenant_id: int, complaint_id: int, sale_id: int) -> SaleComplaintLink | None:
    statement = select(SaleComplaintLink).where(
        SaleComplaintLink.tenant_id == tenant_id,
        SaleComplaintLink.complaint_id == complaint_id,
        SaleComplaintLink.sale_id == sale_id,
    )
    return session.execute(statement).scalar_one_or_none()


def sales_of_customer(
    session: Session, tenant_id: int, customer_key: str, on_or_before: dt.date, since: dt.date
) -> list[PolicySale]:
    """The customer's sales signed in [since, on_or_before] (the complaint's window)."""
    statement = (
        select(PolicySale)
        .where(
            PolicySale.tenant_id == tenant_id,
            PolicySale.customer_key == customer_key,
            PolicySale.signed_on <= on_or_before,
            PolicySale.signed_on >= since,
        )
        .order_by(PolicySale.signed_on, PolicySale.id)
    )
    return list(session.execute(statement).scalars())


def complaints_of_customer(
    session: Session, tenant_id: int, customer_key: str, categories: Collection[str], since: dt.datetime
) -> list[Complaint]:
    statement = (
        select(Complaint)
        .where(
            Complaint.tenant_id == tenant_id,
            Complaint.customer_key == customer_key,
            Complaint.category.in_(list(categories)),
            Complaint.received_at >= since,
        )
        .order_by(Complaint.received_at, Complaint.id)
    )
    return list(session.execute(statement).scalars())


def complaint_links_of_sale(
    session: Session, tenant_id: int, sale_id: int
) -> list[tuple[SaleComplaintLink, Complaint]]:
    statement = (
        select(SaleComplaintLink, Complaint)
        .join(Complaint, Complaint.id == SaleComplaintLink.complaint_id)
        .where(SaleComplaintLink.tenant_id == tenant_id, SaleComplaintLink.sale_id == sale_id)
        .order_by(SaleComplaintLink.linked_at, SaleComplaintLink.id)
    )
    return [(row[0], row[1]) for row in session.execute(statement)]
