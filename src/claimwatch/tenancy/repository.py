from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.tenancy.models import OrgUnit, Region, Tenant


def tenant_by_code(session: Session, code: str) -> Tenant | None:
    return session.execute(select(Tenant).where(Tenant.code == code)).scalar_one_or_none()


def tenant_by_id(session: Session, tenant_id: int) -> Tenant | None:
    return session.get(Tenant, tenant_id)


def all_tenants(session: Session) -> list[Tenant]:
    return list(session.execute(select(Tenant).order_by(Tenant.code)).scalars())


def tenant_codes_and_names(session: Session) -> list[tuple[int, str, str]]:
    rows = session.execute(select(Tenant.id, Tenant.code, Tenant.name).order_by(Tenant.code))
    return [(tenant_id, code, name) for tenant_id, code, name in rows]


def org_unit_by_code(session: Session, code: str) -> OrgUnit | None:
    return session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()


def org_units(session: Session) -> list[OrgUnit]:
    return list(session.execute(select(OrgUnit).order_by(OrgUnit.path)).scalars())


def org_ids_by_code(session: Session) -> dict[str, int]:
    return {code: org_id for code, org_id in session.execute(select(OrgUnit.code, OrgUnit.id))}


def regions(session: Session) -> list[Region]:
    return list(session.execute(select(Region).order_by(Region.code)).scalars())
