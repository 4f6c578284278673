"""Licences (issue 18, h1): validity on a day (issued, not expired, not revoked), an expiry before the issue
refused naming ``expires_on`` with nothing written, a number unique per kind, revoking with a reason (audited),
the states the register shows, the warning job (once per licence: the person, their manager, the admins; the
expired ones listed) and the inbox section."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Conflict, Invalid
from claimwatch.notify.models import StaffNotification
from claimwatch.people import jobs, licence_work, service
from claimwatch.people.models import StaffLicence
from claimwatch.people.schemas import LicenceIn
from tests.factories import World, local_today
from tests.people.staff_world import StaffWorld, admin, build
from tests.snapshots import Snapshot


@pytest.fixture
def sw(db_snapshot: Snapshot, world: World) -> StaffWorld:
    return db_snapshot("people.staff", lambda: build(world))


def _day(days: int) -> dt.date:
    return local_today() + dt.timedelta(days=days)


def test_validity_refusals_revoking_and_states(sw: StaffWorld):
    tenant = sw.acme.id
    with unit_of_work(TenantContext.for_tenant(tenant)) as session:
        a1, a3 = service.staff_by_code(session, tenant, "A001"), service.staff_by_code(session, tenant, "A003")
        assert a1 is not None and a3 is not None
        assert service.licence_valid(session, tenant, a1.id, "sales", local_today())
        assert not service.licence_valid(session, tenant, a1.id, "sales", _day(-401))  # before its issue
        assert not service.licence_valid(session, tenant, a1.id, "underwriter", local_today())
        assert not service.licence_valid(session, tenant, a3.id, "sales", local_today())
        assert service.licence_valid(session, tenant, a3.id, "sales", _day(-30))  # valid when it was
        assert service.valid_licence_staff_ids(session, tenant, "sales", local_today()) == {
            a1.id, service.staff_by_code(session, tenant, "A002").id,  # type: ignore[union-attr]
        }  # fmt: skip

        before = session.scalar(select(func.count()).select_from(StaffLicence))
        backwards = LicenceIn(kind="sales", number="SL-9", issued_on=_day(0), expires_on=_day(-1))
        with pytest.raises(Invalid) as refused:
            service.add_licence(session, admin(tenant), "A003", backwards)
        assert refused.value.field == "expires_on"
        with pytest.raises(Conflict) as taken:
            service.add_licence(
                session, admin(tenant), "A003", backwards.model_copy(update={"number": "SL-001", "expires_on": _day(9)})
            )
        assert taken.value.field == "number"
        assert session.scalar(select(func.count()).select_from(StaffLicence)) == before
        # The same number of another kind is another licence.
        service.add_licence(
            session,
            admin(tenant),
            "A003",
            LicenceIn(kind="other", number="SL-001", issued_on=_day(0), expires_on=_day(90)),
        )

        licence = session.scalars(
            select(StaffLicence).where(StaffLicence.number == "SL-001", StaffLicence.kind == "sales")
        ).one()
        with pytest.raises(Invalid):
            service.revoke_licence(session, admin(tenant), "A001", licence.id, "  ")
        service.revoke_licence(session, admin(tenant), "A001", licence.id, "违规销售被吊销", on=_day(-5))
        assert not service.licence_valid(session, tenant, a1.id, "sales", local_today())
        assert service.licence_valid(session, tenant, a1.id, "sales", _day(-6))
        assert service.licence_state(licence, local_today()) == "revoked"
        with pytest.raises(Conflict):
            service.revoke_licence(session, admin(tenant), "A001", licence.id, "again")
    states = {
        (service.licence_state(StaffLicence(issued_on=_day(i), expires_on=_day(e)), local_today()))
        for i, e in ((-10, 100), (-10, 30), (-10, -1), (3, 100))
    }
    assert states == {"valid", "expiring", "expired", "not_yet"}
    assert service.person_licence_state([], local_today()) == "none"


def test_expiring_licences_are_warned_once_and_in_the_inbox(sw: StaffWorld):
    now = utc_now()
    result = jobs.run_licence_warnings(now)
    assert [(code, number) for tenant, code, number in result.warned] == [("A002", "SL-002")]
    assert ("A003", "SL-003") in [(code, number) for _, code, number in result.expired]
    assert result.notices == 1  # A002 has no account and no manager: the admins
    again = jobs.run_licence_warnings(now + dt.timedelta(hours=1))
    assert again.warned == [] and again.notices == 0
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        notices = session.scalars(select(StaffNotification).where(StaffNotification.kind == jobs.NOTICE_KIND)).all()
        assert [(n.recipient_role, n.link) for n in notices] == [("admin", "/people/A002")]
        assert "SL-002" in notices[0].body
        # E001's adjuster licence, moved to end in 10 days: their own account and their manager are told too.
        e001 = session.scalars(select(StaffLicence).where(StaffLicence.number == "CA-001")).one()
        e001.expires_on = local_today() + dt.timedelta(days=10)
    assert jobs.run_licence_warnings(now).notices == 3
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        qm = auth_repository.user_by_username(session, "acme.qm")
        assert qm is not None
        principal = Principal(role=Role.QUALITY_MANAGER, tenant_id=sw.acme.id, actor="user:acme.qm", user_id=qm.id)
        page = licence_work.expiring_licences(session, principal, "en", now, 10, 0)
        assert page.count == 2 and [i.key.split("-")[0] for i in page.items] == ["licence", "licence"]
        assert page.items[0].url == "/people/E001" and "expires in 10 days" in page.items[0].detail
