"""Queries of the staff register: staff members and their licences (tenant scoping is db.py's; the tenant is
named as well, so a system-context job reads one insurer at a time)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.orm import Session, aliased

from claimwatch.people.models import StaffLicence, StaffMember
from claimwatch.tenancy.models import OrgUnit

MAX_LIST = 5000
# The expired licence beside the same person's licences of its kind (a renewal hides it).
_Expired = aliased(StaffLicence)


def staff_by_code(session: Session, tenant_id: int, code: str) -> StaffMember | None:
    statement = select(StaffMember).where(StaffMember.tenant_id == tenant_id, StaffMember.code == code)
    return session.execute(statement).scalar_one_or_none()


def staff_by_codes(session: Session, tenant_id: int, codes: Collection[str]) -> dict[str, StaffMember]:
    if not codes:
        return {}
    statement = select(StaffMember).where(StaffMember.tenant_id == tenant_id, StaffMember.code.in_(list(codes)))
    return {row.code: row for row in session.execute(statement).scalars()}


def staff_by_user(session: Session, tenant_id: int, user_id: int) -> StaffMember | None:
    """The staff record of a platform user (the latest hired when, unusually, there are two)."""
    statement = (
        select(StaffMember)
        .where(StaffMember.tenant_id == tenant_id, StaffMember.user_id == user_id)
        .order_by(StaffMember.hired_on.desc(), StaffMember.id.desc())
        .limit(1)
    )
    return session.execute(statement).scalar_one_or_none()


def org_ids_below(session: Session, tenant_id: int, org_unit_id: int) -> set[int]:
    """The unit and every unit below it (the ``path`` prefix)."""
    top = session.get(OrgUnit, org_unit_id)
    if top is None or top.tenant_id != tenant_id:
        return set()
    statement = select(OrgUnit.id).where(OrgUnit.tenant_id == tenant_id, OrgUnit.path.startswith(top.path))
    return set(session.execute(statement).scalars())


def staff_ids_where(session: Session, tenant_id: int, condition: ColumnElement[bool]) -> set[int]:
    statement = select(StaffMember.id).where(StaffMember.tenant_id == tenant_id, condition)
    return set(session.execute(statement).scalars())


def _valid_on(on: dt.date) -> ColumnElement[bool]:
    return and_(
        StaffLicence.issued_on <= on,
        StaffLicence.expires_on >= on,
        or_(StaffLicence.revoked_on.is_(None), StaffLicence.revoked_on > on),
    )


def valid_licence_staff_ids(session: Session, tenant_id: int, kind: str, on: dt.date) -> set[int]:
    statement = select(StaffLicence.staff_id).where(
        StaffLicence.tenant_id == tenant_id, StaffLicence.kind == kind, _valid_on(on)
    )
    return set(session.execute(statement).scalars())


def has_valid_licence(session: Session, tenant_id: int, staff_id: int, kind: str, on: dt.date) -> bool:
    statement = select(
        exists().where(
            StaffLicence.tenant_id == tenant_id,
            StaffLicence.staff_id == staff_id,
            StaffLicence.kind == kind,
            _valid_on(on),
        )
    )
    return bool(session.execute(statement).scalar())


def licence_by_number(session: Session, tenant_id: int, kind: str, number: str) -> StaffLicence | None:
    statement = select(StaffLicence).where(
        StaffLicence.tenant_id == tenant_id, StaffLicence.kind == kind, StaffLicence.number == number
    )
    return session.execute(statement).scalar_one_or_none()


def licences_of(session: Session, tenant_id: int, staff_ids: Collection[int]) -> dict[int, list[StaffLicence]]:
    """Each person's licences, the latest expiry first."""
    found: dict[int, list[StaffLicence]] = {sid: [] for sid in staff_ids}
    if not staff_ids:
        return found
    statement = (
        select(StaffLicence)
        .where(StaffLicence.tenant_id == tenant_id, StaffLicence.staff_id.in_(list(staff_ids)))
        .order_by(StaffLicence.expires_on.desc(), StaffLicence.id.desc())
    )
    for licence in session.execute(statement).scalars():
        found.setdefault(licence.staff_id, []).append(licence)
    return found


@dataclass(frozen=True)
class StaffFilter:
    """What a list of staff narrows to: org units (a subtree, already expanded), kind, status, text in the
    code or name, and the ids the caller may see (None: all of the tenant)."""

    org_ids: frozenset[int] | None = None
    kind: str | None = None
    status: str | None = None
    text: str | None = None
    visible: frozenset[int] | None = None


def staff_list(session: Session, tenant_id: int, where: StaffFilter, limit: int = MAX_LIST) -> list[StaffMember]:
    statement = select(StaffMember).where(StaffMember.tenant_id == tenant_id)
    if where.visible is not None:
        statement = statement.where(StaffMember.id.in_(sorted(where.visible)))
    if where.org_ids is not None:
        statement = statement.where(StaffMember.org_unit_id.in_(sorted(where.org_ids)))
    if where.kind:
        statement = statement.where(StaffMember.kind == where.kind)
    if where.status:
        statement = statement.where(StaffMember.status == where.status)
    if where.text:
        pattern = f"%{where.text.replace('%', '').replace('_', '')}%"
        statement = statement.where(or_(StaffMember.code.ilike(pattern), StaffMember.name.ilike(pattern)))
    return list(session.execute(statement.order_by(StaffMember.code).limit(limit)).scalars())


def licences_expiring(
    session: Session, tenant_id: int | None, start: dt.date, end: dt.date, *, unwarned: bool = False
) -> list[tuple[StaffLicence, StaffMember]]:
    """Licences in force (not revoked) of active people that expire from ``start`` to ``end``, soonest first;
    ``unwarned``: only those not warned yet. ``tenant_id`` None: every tenant the session sees."""
    statement = (
        select(StaffLicence, StaffMember)
        .join(StaffMember, StaffMember.id == StaffLicence.staff_id)
        .where(
            StaffLicence.expires_on >= start,
            StaffLicence.expires_on <= end,
            StaffLicence.revoked_on.is_(None),
            StaffMember.status == "active",
        )
    )
    if tenant_id is not None:
        statement = statement.where(StaffLicence.tenant_id == tenant_id)
    if unwarned:
        statement = statement.where(StaffLicence.warned_at.is_(None))
    statement = statement.order_by(StaffLicence.tenant_id, StaffLicence.expires_on, StaffLicence.id)
    return [(licence, staff) for licence, staff in session.execute(statement).all()]


def licences_expired_without_successor(
    session: Session, tenant_id: int | None, since: dt.date, on: dt.date
) -> list[tuple[StaffLicence, StaffMember]]:
    """Licences of active people that expired from ``since`` to the day before ``on`` with no licence of the
    same kind valid on ``on`` (renewed ones are not listed)."""
    renewed = (
        select(StaffLicence.id)
        .where(
            StaffLicence.staff_id == StaffMember.id,
            StaffLicence.kind == _Expired.kind,
            _valid_on(on),
        )
        .exists()
    )
    statement = (
        select(_Expired, StaffMember)
        .join(StaffMember, StaffMember.id == _Expired.staff_id)
        .where(
            _Expired.expires_on >= since,
            _Expired.expires_on < on,
            _Expired.revoked_on.is_(None),
            StaffMember.status == "active",
            not_(renewed),
        )
    )
    if tenant_id is not None:
        statement = statement.where(_Expired.tenant_id == tenant_id)
    statement = statement.order_by(_Expired.tenant_id, _Expired.expires_on, _Expired.id)
    return [(licence, staff) for licence, staff in session.execute(statement).all()]
