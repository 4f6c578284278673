"""A tenant with two branches and the people a rectification involves, made through the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.rectification import service
from claimwatch.rectification.models import Rectification, RectificationClock, RectificationEvent
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from tests.factories import PASSWORD, TenantHandle, World

CST = dt.timezone(dt.timedelta(hours=8))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)


def end_of_local_day(year: int, month: int, day: int) -> dt.datetime:
    return (local(year, month, day) + dt.timedelta(days=1)).astimezone(dt.UTC)


@dataclass
class Office:
    """ACME: branch B1 (owner, its supervisor) and branch B2 (another supervisor, another adjuster); a
    quality manager and an inspector without a unit."""

    world: World
    tenant: TenantHandle
    b1: int
    b2: int
    users: dict[str, int]

    @classmethod
    def create(cls, world: World, code: str = "ACME") -> Office:
        tenant = world.tenant(code)
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            tenancy_service.add_org_unit(
                session,
                tenant_id=tenant.id,
                code=f"{code}-B2",
                name="上海分公司",
                parent_code=f"{code}-HQ",
                region_code="310000",
            )
            ids = tenancy_repository.org_ids_by_code(session)
        b1, b2 = ids[f"{code}-B1"], ids[f"{code}-B2"]
        people = {
            "owner": (Role.ADJUSTER, b1),
            "supervisor": (Role.SUPERVISOR, b1),
            "other_supervisor": (Role.SUPERVISOR, b2),
            "other": (Role.ADJUSTER, b2),
            "qm": (Role.QUALITY_MANAGER, None),
            "inspector": (Role.INSPECTOR, None),
        }
        users: dict[str, int] = {}
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            for name, (role, unit) in people.items():
                user = auth_service.create_user(
                    session,
                    username=f"{code.lower()}.{name}",
                    password=PASSWORD,
                    role=role,
                    tenant_id=tenant.id,
                    display_name=f"{name}-{code}",
                    org_unit_id=unit,
                )
                session.flush()
                users[name] = user.id
        return cls(world, tenant, b1, b2, users)

    def username(self, name: str) -> str:
        return f"{self.tenant.code.lower()}.{name}"

    def principal(self, name: str) -> Principal:
        with unit_of_work(TenantContext.system_context()) as session:
            user = auth_repository.user_by_username(session, self.username(name))
            assert user is not None
            return auth_service.principal_for_user(user)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with unit_of_work(TenantContext.for_tenant(self.tenant.id)) as session:
            yield session

    def open(self, source_id: int = 1, at: dt.datetime | None = None, **fields: Any) -> int:
        body: dict[str, Any] = {
            "source_kind": "inspection_finding",
            "source_id": source_id,
            "source_label": f"F-2026-{source_id:06d}",
            "source_url": f"/inspections/findings/{source_id}",
            "title": "拒赔未说明理由（保险法第24条）",
            "severity": "major",
            "owner_org_unit_id": self.b1,
            "owner_user_id": self.users["owner"],
            "actor": "user:acme.inspector",
            "at": at if at is not None else local(2026, 8, 3, 10),
        }
        body.update(fields)
        with self.session() as session:
            return service.open_rectification(session, self.tenant.id, **body).id

    def act(
        self, who: str, rectification_id: int, action: str, text: str | None = "说明", at: dt.datetime | None = None
    ):
        principal = self.principal(who)
        with self.session() as session:
            service.transition(session, principal, rectification_id, action, text, at=at)

    def get(self, rectification_id: int) -> Rectification:
        with self.session() as session:
            found = session.get(Rectification, rectification_id)
            assert found is not None
            return found

    def clocks(self, rectification_id: int) -> dict[str, RectificationClock]:
        with self.session() as session:
            rows = session.execute(
                select(RectificationClock).where(RectificationClock.rectification_id == rectification_id)
            ).scalars()
            return {c.policy_code: c for c in rows}

    def events(self, rectification_id: int) -> list[RectificationEvent]:
        with self.session() as session:
            return list(
                session.execute(
                    select(RectificationEvent)
                    .where(RectificationEvent.rectification_id == rectification_id)
                    .order_by(RectificationEvent.id)
                ).scalars()
            )
