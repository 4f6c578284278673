"""One small staff register per database kind (built once with ``db_snapshot``): ACME with a head office, two
branches (B1, B2), a quality manager, a supervisor of B1, two adjusters; staff and agents whose licences are
valid, expiring in 20 days, expired, or none; BBB with a person of the same code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.people import service
from claimwatch.people.schemas import LicenceIn, StaffIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from tests.factories import PASSWORD, TenantHandle, World, local_today


@dataclass(frozen=True)
class StaffWorld:
    acme: TenantHandle
    bbb: TenantHandle
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], "Accept-Language": "en"}


def admin(tenant_id: int) -> Principal:
    return Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="user:test.admin")


def _user(session, tenant_id: int, username: str, role: Role, org_unit_id: int | None = None) -> None:
    auth_service.create_user(
        session, username=username, password=PASSWORD, role=role, tenant_id=tenant_id, display_name=username,
        org_unit_id=org_unit_id,
    )  # fmt: skip


def _licence(kind: str, number: str, issued: int, expires: int) -> LicenceIn:
    return LicenceIn(
        kind=kind, number=number, issued_on=local_today() + dt.timedelta(days=issued),
        expires_on=local_today() + dt.timedelta(days=expires),
    )  # fmt: skip


def build(world: World) -> StaffWorld:
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        b2 = tenancy_service.add_org_unit(
            session, tenant_id=acme.id, code="ACME-B2", name="广西分公司", parent_code="ACME-HQ", region_code="450000"
        )
        branch = tenancy_repository.org_unit_by_code(session, "ACME-B1")
        assert branch is not None
        _user(session, acme.id, "acme.qm", Role.QUALITY_MANAGER)
        _user(session, acme.id, "acme.sup", Role.SUPERVISOR, branch.id)
        _user(session, acme.id, "acme.adj", Role.ADJUSTER, branch.id)
        _user(session, acme.id, "acme.adj2", Role.ADJUSTER, b2.id)
        who = admin(acme.id)
        people = (
            ("E001", "张伟", "employee", "理赔员", "ACME-B1", "acme.adj", "acme.sup", None),
            ("E002", "王芳", "employee", "理赔员", "ACME-B2", "acme.adj2", "acme.sup", None),
            ("A001", "李强", "agent", "销售代理", "ACME-B1", None, None, _licence("sales", "SL-001", -400, 300)),
            ("A002", "赵敏", "agent", "销售代理", "ACME-B1", None, None, _licence("sales", "SL-002", -340, 20)),
            ("A003", "孙丽", "agent", "销售代理", "ACME-B2", None, None, _licence("sales", "SL-003", -400, -10)),
            ("E003", "周杰", "employee", "核保员", "ACME-B2", None, None, None),
        )
        for code, name, kind, title, org, user, manager, licence in people:
            data = StaffIn(
                code=code, name=name, kind=kind, job_title=title, org_unit=org, username=user, manager=manager,
                hired_on=local_today() - dt.timedelta(days=500), licence=licence,
            )  # fmt: skip
            service.create_staff(session, who, data)
        service.add_licence(session, who, "E001", _licence("claims_adjuster", "CA-001", -100, 600))
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        _user(session, bbb.id, "bbb.qm", Role.QUALITY_MANAGER)
        data = StaffIn(code="E001", name="另一人", kind="employee", hired_on=local_today() - dt.timedelta(days=10))
        service.create_staff(session, admin(bbb.id), data)
    keys = {
        "qm": world.api_key(acme, Role.QUALITY_MANAGER),
        "adj": world.api_key(acme, Role.ADJUSTER),
        "bbb_qm": world.api_key(bbb, Role.QUALITY_MANAGER),
        "integration": world.api_key(acme, Role.INTEGRATION),
    }
    return StaffWorld(acme, bbb, keys)
