"""Tenants (insurers), their org-unit tree and the shared region list."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.config import get_settings
from claimwatch.tenancy import repository
from claimwatch.tenancy.models import OrgLevel, OrgUnit, Tenant
from claimwatch.tenancy.regions import REGIONS

_CHILD_LEVEL = {OrgLevel.HEAD_OFFICE: OrgLevel.BRANCH, OrgLevel.BRANCH: OrgLevel.SUB_BRANCH}


class TenancyError(ValueError):
    pass


@lru_cache
def region_codes() -> frozenset[str]:
    return frozenset(code for code, _, _ in REGIONS)


def region_names() -> dict[str, tuple[str, str]]:
    return {code: (zh, en) for code, zh, en in REGIONS}


@lru_cache
def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def platform_zone() -> ZoneInfo:
    """The zone of views that span insurers (a regulator's) and of rows that belong to no tenant."""
    return zone_named(get_settings().default_timezone)


def tenant_zone(session: Session, tenant_id: int | None) -> ZoneInfo:
    """The one rule for local time: a tenant's own zone (``tenants.timezone``) for its display, KPI
    buckets, deadlines, letters and imports; the platform zone where no single tenant applies."""
    if tenant_id is None:
        return platform_zone()
    tenant = repository.tenant_by_id(session, tenant_id)
    return zone_named(tenant.timezone) if tenant is not None else platform_zone()


@dataclass(frozen=True)
class TenantLabel:
    id: int
    code: str
    name: str


def tenant_labels(session: Session) -> list[TenantLabel]:
    """Every tenant's code and name, by code: the filter and column of a cross-tenant (regulator) view.

    Tenants are not tenant-scoped rows, so callers decide who may see this list."""
    return [TenantLabel(tenant_id, code, name) for tenant_id, code, name in repository.tenant_codes_and_names(session)]


def create_tenant(
    session: Session, *, code: str, name: str, head_office_name: str | None = None, actor: str = "system"
) -> Tenant:
    """A tenant starts with its audit chain and a head office (总公司)."""
    if repository.tenant_by_code(session, code) is not None:
        raise TenancyError(f"tenant code {code!r} is taken")
    tenant = Tenant(code=code, name=name)
    session.add(tenant)
    session.flush()
    audit_service.start_chain(session, tenant.id)
    audit_service.record(session, tenant.id, "config.tenant", code, actor, {"action": "create", "name": name})
    head = OrgUnit(
        tenant_id=tenant.id,
        code=f"{code}-HQ",
        name=head_office_name or f"{name}总公司",
        level=OrgLevel.HEAD_OFFICE,
        parent_id=None,
    )
    session.add(head)
    session.flush()
    head.path = f"/{head.id}/"
    return tenant


def add_org_unit(
    session: Session,
    *,
    tenant_id: int,
    code: str,
    name: str,
    parent_code: str,
    region_code: str | None,
    actor: str = "system",
) -> OrgUnit:
    """Branches hang under the head office, sub-branches under a branch."""
    parent = repository.org_unit_by_code(session, parent_code)
    if parent is None or parent.tenant_id != tenant_id:
        raise TenancyError(f"unknown parent org unit {parent_code!r}")
    level = _CHILD_LEVEL.get(parent.level)
    if level is None:
        raise TenancyError(f"a {parent.level.value} cannot have child units")
    if region_code is not None and region_code not in region_codes():
        raise TenancyError(f"unknown region code {region_code!r}")
    if repository.org_unit_by_code(session, code) is not None:
        raise TenancyError(f"org unit code {code!r} is taken")
    unit = OrgUnit(
        tenant_id=tenant_id,
        code=code,
        name=name,
        level=level,
        parent_id=parent.id,
        region_code=region_code or parent.region_code,
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    audit_service.record(
        session,
        tenant_id,
        "config.org_unit",
        code,
        actor,
        {"action": "create", "name": name, "parent": parent_code, "region": unit.region_code},
    )
    return unit
