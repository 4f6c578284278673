"""The demo hook: a suspended adjuster, a repeat offender with a training, a rejected proposal and the
blacklist, all through the service; a second run adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo import sanctions as demo_sanctions
from claimwatch.sanctions.models import BlacklistEntry, MandatoryTraining, Sanction
from tests.factories import World


def test_the_demo_suspends_an_adjuster_and_lists_parties(world: World):
    tenant = world.tenant("PICC", "人保财险")
    for name, role in (("qm", Role.QUALITY_MANAGER), ("inspector", Role.INSPECTOR)):
        world.user(f"picc.{name}", role, tenant)
    for n in (2, 3, 5):
        world.user(f"picc.adjuster{n:02d}", Role.ADJUSTER, tenant)
    loaded = demo_sanctions.load([tenant.id], utc_now())
    assert loaded.suspended == ["picc.adjuster03"] and loaded.rejected == 1 and loaded.blacklisted == 4
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        adjuster = auth_repository.user_by_username(session, "picc.adjuster03")
        assert adjuster is not None
        principal = auth_service.principal_for_user(adjuster, session)
        assert not principal.can(Permission.INGEST_EVENTS)
        assert principal.suspensions[0].message("zh").startswith("您的理赔处理权限已被暂停至 ")
        statuses = dict(session.execute(select(Sanction.status, func.count()).group_by(Sanction.status)).all())
        assert statuses == {"proposed": 2, "approved": 3, "rejected": 1}
        trainings = session.execute(select(MandatoryTraining.party)).scalars().all()
        assert trainings == ["picc.adjuster05"]
        lifted = session.execute(select(func.count()).where(BlacklistEntry.lifted_at.is_not(None))).scalar_one()
        assert lifted == 1
    again = demo_sanctions.load([tenant.id], utc_now())
    assert again.proposed == 0 and again.blacklisted == 0
