"""`demo setup`: the demo insurers, their staff and a generated history, loaded through the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo import complaints as demo_complaints
from claimwatch.demo import people_policies as demo_people_policies
from claimwatch.demo import queue_materials
from claimwatch.demo import surveys as demo_surveys
from claimwatch.demo.generator import DemoSpec, iter_tenant_events
from claimwatch.demo.organisation import DEMO_PASSWORD, REGULATOR_USERNAME, DemoTenant
from claimwatch.imports import jobs as import_jobs
from claimwatch.imports import service as import_service
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service


@dataclass(frozen=True)
class Login:
    username: str
    role: Role
    tenant: str


def is_set_up(spec: DemoSpec) -> bool:
    with unit_of_work(TenantContext.system_context()) as session:
        return all(tenancy_repository.tenant_by_code(session, t.code) is not None for t in spec.tenants)


def add_org_tree(session: Session, tenant_id: int, tenant: DemoTenant) -> None:
    for branch in tenant.branches:
        tenancy_service.add_org_unit(
            session,
            tenant_id=tenant_id,
            code=branch.code,
            name=branch.name,
            parent_code=f"{tenant.code}-HQ",
            region_code=branch.region_code,
            actor="demo",
        )
        for code, name in branch.sub_branches:
            tenancy_service.add_org_unit(
                session,
                tenant_id=tenant_id,
                code=code,
                name=name,
                parent_code=branch.code,
                region_code=None,
                actor="demo",
            )


def add_staff(session: Session, tenant_id: int, tenant: DemoTenant) -> None:
    for username, role, display_name in tenant.staff():
        auth_service.create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            tenant_id=tenant_id,
            display_name=display_name,
            actor="demo",
        )


def _create_tenant(tenant: DemoTenant) -> int:
    with unit_of_work(TenantContext.system_context()) as session:
        created = tenancy_service.create_tenant(session, code=tenant.code, name=tenant.name, actor="demo")
        workflow_service.record_workflows(session, created.id, "demo")
        tenant_id = created.id
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        add_org_tree(session, tenant_id, tenant)
        add_staff(session, tenant_id, tenant)
    return tenant_id


def _rows(events: Iterator[dict[str, Any]]) -> Iterator[import_service.Row]:
    for line, event in enumerate(events, start=1):
        yield import_service.validate_row(line, event)


def setup(spec: DemoSpec, progress: Callable[[int], None] | None = None) -> int:
    """Create tenants, org trees, staff and a regulator, then import the generated events. Returns events applied."""
    applied = 0
    with unit_of_work(TenantContext.system_context()) as session:
        auth_service.create_user(
            session,
            username=REGULATOR_USERNAME,
            password=DEMO_PASSWORD,
            role=Role.REGULATOR,
            tenant_id=None,
            display_name="监管局",
            actor="demo",
        )
    for index, tenant in enumerate(spec.tenants):
        tenant_id = _create_tenant(tenant)
        principal = import_service.integration_principal(tenant_id, "demo")
        result = import_jobs.import_rows(
            _rows(iter_tenant_events(spec, index)), principal, mode="all-or-nothing", progress=progress
        )
        if not result.committed:
            first = result.rejects[0]
            raise RuntimeError(f"demo data rejected at event {first.line} ({first.event_id}): {first.reason}")
        applied += result.applied
    return applied


def load_complaints(spec: DemoSpec, now: dt.datetime | None = None) -> demo_complaints.Loaded:
    """The demo complaints and volumes of every tenant (after :func:`setup` loaded the claims)."""
    now = now or utc_now()
    total = demo_complaints.Loaded(0, [])
    with unit_of_work(TenantContext.system_context()) as session:
        ids = {t.code: tenancy_repository.tenant_by_code(session, t.code) for t in spec.tenants}
    for index, tenant in enumerate(spec.tenants):
        found = ids[tenant.code]
        assert found is not None
        loaded = demo_complaints.load(spec, index, found.id, now)
        total.filed += loaded.filed
        assert total.refused is not None
        total.refused += loaded.refused or []
    return total


def load_surveys(spec: DemoSpec, now: dt.datetime | None = None) -> demo_surveys.Loaded:
    """Surveys for every closed claim and complaint, about a third answered (after :func:`load_complaints`)."""
    with unit_of_work(TenantContext.system_context()) as session:
        found = [tenancy_repository.tenant_by_code(session, t.code) for t in spec.tenants]
    return demo_surveys.load([t.id for t in found if t is not None], spec.seed, now or utc_now())


def logins(spec: DemoSpec) -> list[Login]:
    people = [Login(REGULATOR_USERNAME, Role.REGULATOR, "—")]
    for tenant in spec.tenants:
        staff = tenant.staff()
        people += [Login(username, role, tenant.code) for username, role, _ in staff if role is not Role.ADJUSTER]
        people.append(Login(tenant.adjusters()[0] + " …", Role.ADJUSTER, tenant.code))
        people.append(Login(queue_materials.branch_supervisor(tenant.code), Role.SUPERVISOR, tenant.code))
        if tenant.code in demo_people_policies.STORY_TENANTS:
            people.append(Login(f"{tenant.code.lower()}.underwriter", Role.UNDERWRITER, tenant.code))
            people.append(Login(f"{tenant.code.lower()}.sales", Role.SUPERVISOR, tenant.code))
    return people
