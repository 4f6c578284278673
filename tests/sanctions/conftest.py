"""A small world for the sanctions tests: ACME with an adjuster, an inspector and two quality managers; BBB
with a quality manager of its own (the other insurer, which must see nothing of ACME's)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot


@dataclass(frozen=True)
class SanctionWorld:
    acme: TenantHandle
    bbb: TenantHandle
    adjuster: str
    inspector: str
    qm: str
    qm2: str
    bbb_qm: str

    def principal(self, username: str) -> Principal:
        with unit_of_work(TenantContext.system_reader()) as session:
            user = auth_repository.user_by_username(session, username)
            assert user is not None
            return auth_service.principal_for_user(user, session)

    def user_id(self, username: str) -> int:
        return self.principal(username).user_id or 0


@pytest.fixture
def sw(world: World, db_snapshot: Snapshot) -> SanctionWorld:
    return db_snapshot("sanctions.sw", lambda: build_sw(world))


def build_sw(world: World) -> SanctionWorld:
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    return SanctionWorld(
        acme=acme,
        bbb=bbb,
        adjuster=world.user("li.adjuster", Role.ADJUSTER, acme),
        inspector=world.user("zhou.inspector", Role.INSPECTOR, acme),
        qm=world.user("qian.qm", Role.QUALITY_MANAGER, acme),
        qm2=world.user("sun.qm", Role.QUALITY_MANAGER, acme),
        bbb_qm=world.user("zhao.qm", Role.QUALITY_MANAGER, bbb),
    )
