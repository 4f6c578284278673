"""Tenant scoping happens in one place (claimwatch.db), for every ORM query and flush."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import repository as cases_repository
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, TenantViolation, new_session, unit_of_work
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit
from tests.factories import reported


def _seed(world):
    acme = world.tenant("ACME")
    other = world.tenant("OTHER", region="310000")
    for tenant, numbers in ((acme, ["A1", "A2"]), (other, ["O1"])):
        principal = Principal(role=Role.INTEGRATION, tenant_id=tenant.id, actor="test")
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            events = [EventIn.model_validate(reported(f"{n}-r", n)) for n in numbers]
            cases_service.ingest_events(session, principal, events)
    return acme, other


def test_queries_see_only_the_callers_tenant(world):
    acme, other = _seed(world)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert sorted(session.execute(select(Claim.number)).scalars()) == ["A1", "A2"]
        total, claims = cases_repository.list_claims(session, cases_repository.ClaimFilter(), 1, 50)
        assert total == 2 and {c.tenant_id for c in claims} == {acme.id}
        # even an explicit filter on another tenant finds nothing
        assert session.execute(select(Claim).where(Claim.tenant_id == other.id)).first() is None
        # joins and subqueries are filtered too
        joined = session.execute(select(func.count()).select_from(Claim).join(OrgUnit, isouter=True)).scalar_one()
        assert joined == 2


def test_bulk_update_is_scoped(world):
    acme, other = _seed(world)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        session.execute(update(Claim).values(policy_number="HACKED"), execution_options={"synchronize_session": False})
    with unit_of_work(TenantContext.for_tenant(other.id)) as session:
        assert session.execute(select(Claim.policy_number)).scalar_one() == "POL-O1"


def test_writing_a_row_of_another_tenant_is_refused(world):
    acme, other = _seed(world)
    with pytest.raises(TenantViolation):
        with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
            session.add(OrgUnit(tenant_id=other.id, code="EVIL", name="x", level="branch", path="/"))


def test_regulator_reads_all_tenants_but_cannot_write(world):
    _seed(world)
    with unit_of_work(TenantContext.regulator()) as session:
        assert sorted(session.execute(select(Claim.number)).scalars()) == ["A1", "A2", "O1"]
    session = new_session(TenantContext.regulator())
    try:
        with pytest.raises(TenantViolation):
            session.execute(update(Claim).values(policy_number="X"))
        claim = session.execute(select(Claim)).scalars().first()
        claim.policy_number = "X"
        with pytest.raises(TenantViolation):
            session.flush()
    finally:
        session.rollback()
        session.close()


def test_session_without_context_is_refused(database):
    from sqlalchemy.orm import Session

    from claimwatch.db import get_engine

    with Session(get_engine()) as session, pytest.raises(TenantViolation):
        session.execute(select(Claim))


def test_org_tree_paths_and_levels(world):
    acme = world.tenant("ACME")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        sub = tenancy_service.add_org_unit(
            session, tenant_id=acme.id, code="ACME-SZ", name="深圳支公司", parent_code="ACME-B1", region_code=None
        )
        assert sub.level.value == "sub_branch"
        assert sub.region_code == "440000"  # inherited from the branch
        branch = session.execute(select(OrgUnit).where(OrgUnit.code == "ACME-B1")).scalar_one()
        assert sub.path.startswith(branch.path) and sub.path.endswith(f"/{sub.id}/")
        with pytest.raises(tenancy_service.TenancyError, match="cannot have child units"):
            tenancy_service.add_org_unit(
                session, tenant_id=acme.id, code="ACME-X", name="x", parent_code="ACME-SZ", region_code=None
            )
        with pytest.raises(tenancy_service.TenancyError, match="unknown region code"):
            tenancy_service.add_org_unit(
                session, tenant_id=acme.id, code="ACME-Y", name="y", parent_code="ACME-B1", region_code="123"
            )
    other = world.tenant("OTHER")
    with unit_of_work(TenantContext.for_tenant(other.id)) as session:
        with pytest.raises(tenancy_service.TenancyError, match="unknown parent org unit 'ACME-B1'"):
            tenancy_service.add_org_unit(
                session, tenant_id=other.id, code="O-X", name="x", parent_code="ACME-B1", region_code=None
            )
