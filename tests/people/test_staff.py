"""The staff register's service (issue 18, h1): recording people (code unique per tenant, org unit by code,
account and manager by username, refusals naming the field and writing nothing, audited), leaving, the
look-ups the other parts use, and who may see whom (quality: all; a supervisor: own org subtree and the people
they manage; anybody: themselves)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.auth.principal import AccessDenied, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Invalid
from claimwatch.people import service
from claimwatch.people.models import StaffMember
from claimwatch.people.schemas import StaffIn, StaffUpdate
from tests.factories import World, local_today
from tests.people.staff_world import StaffWorld, admin, build
from tests.snapshots import Snapshot


@pytest.fixture
def sw(db_snapshot: Snapshot, world: World) -> StaffWorld:
    return db_snapshot("people.staff", lambda: build(world))


def _as(session, tenant_id: int, username: str) -> Principal:
    user = auth_repository.user_by_username(session, username)
    assert user is not None
    return Principal(role=user.role, tenant_id=tenant_id, actor=f"user:{username}", user_id=user.id)


def _codes(session, ids: set[int] | None) -> set[str] | None:
    if ids is None:
        return None
    return set(session.scalars(select(StaffMember.code).where(StaffMember.id.in_(sorted(ids)))))


def test_recording_refusing_leaving_and_the_lookups(sw: StaffWorld):
    tenant = sw.acme.id
    with unit_of_work(TenantContext.for_tenant(tenant)) as session:
        before = session.scalar(select(func.count()).select_from(StaffMember))
        for body, field in (
            ({"kind": "contractor"}, "kind"),
            ({"org_unit": "NOWHERE"}, "org_unit"),
            ({"username": "nobody"}, "username"),
            ({"manager": "bbb.qm"}, "manager"),  # another insurer's user is unknown here
        ):
            data = StaffIn.model_validate(
                {"code": "X1", "name": "某人", "kind": "employee", "hired_on": local_today()} | body
            )
            with pytest.raises(Invalid) as refused:
                service.create_staff(session, admin(tenant), data)
            assert refused.value.field == field
        with pytest.raises(Conflict) as taken:
            service.create_staff(
                session, admin(tenant), StaffIn(code="E001", name="重复", kind="employee", hired_on=local_today())
            )
        assert taken.value.field == "code"
        assert session.scalar(select(func.count()).select_from(StaffMember)) == before
        with pytest.raises(AccessDenied):  # an adjuster may not manage the register
            service.create_staff(session, _as(session, tenant, "acme.adj"), data)

        adj = auth_repository.user_by_username(session, "acme.adj")
        assert adj is not None
        person = service.staff_for_user(session, tenant, adj.id)
        assert person is not None and person.code == "E001" and person.manager_user_id is not None
        assert service.staff_by_code(session, tenant, "A001") is not None
        assert service.staff_by_code(session, sw.bbb.id, "A001") is None

        with pytest.raises(Invalid) as early:
            service.update_staff(
                session, admin(tenant), "E002", StaffUpdate(left_on=local_today() - dt.timedelta(days=900))
            )
        assert early.value.field == "left_on"
        left = service.record_leaving(session, admin(tenant), "E002", local_today())
        assert left.status == "left" and left.left_on == local_today()
        changed = service.update_staff(
            session, admin(tenant), "E003", StaffUpdate(job_title="高级核保员", org_unit=None)
        )
        assert changed.job_title == "高级核保员" and changed.org_unit_id is None
        kinds = [
            e.kind
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.kind.like("people.staff%")).order_by(AuditEntry.seq)
            )
        ]
        assert kinds[-2:] == [service.AUDIT_LEFT, service.AUDIT_UPDATED] and service.AUDIT_CREATED in kinds
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last is not None and json.loads(last.payload or "{}")["changed"] == ["job_title", "org_unit_id"]


def test_who_sees_whom(sw: StaffWorld):
    tenant = sw.acme.id
    with unit_of_work(TenantContext.for_tenant(tenant)) as session:
        assert service.visible_staff_ids(session, _as(session, tenant, "acme.qm")) is None
        # The supervisor of B1: B1's people, and E002 of B2 whom they manage; not A003 or E003 of B2.
        sup = _codes(session, service.visible_staff_ids(session, _as(session, tenant, "acme.sup")))
        assert sup == {"E001", "A001", "A002", "E002"}
        assert _codes(session, service.visible_staff_ids(session, _as(session, tenant, "acme.adj"))) == {"E001"}
        regulator = Principal(role=Role.REGULATOR, tenant_id=None, actor="user:reg")
        assert service.visible_staff_ids(session, regulator) == set()
        other = service.staff_by_code(session, tenant, "A003")
        assert other is not None and not service.may_see(session, _as(session, tenant, "acme.sup"), other)
