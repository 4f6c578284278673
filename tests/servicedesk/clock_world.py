"""The world of the servicedesk clock, peak and KPI tests (h2): two insurers, a 客服 handler, a supervisor and the
regulator, API keys by role; requests are written as rows here (the requests core's intake has its own tests), then
their clocks started through :func:`claimwatch.servicedesk.clocks.start_for`."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.servicedesk import clocks
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestClock
from tests.factories import TenantHandle, World

CST = dt.timezone(dt.timedelta(hours=8))
# Monday 2 March 2026, 09:00 Beijing time: a working week ahead on the calendar.
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST).astimezone(dt.UTC)
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Desk:
    a: TenantHandle
    b: TenantHandle
    users: dict[str, int]
    keys: dict[str, str]

    def principal(self, username: str, role: Role) -> Principal:
        return Principal(role=role, tenant_id=self.a.id, actor=f"user:{username}", user_id=self.users[username])


def build(world: World) -> Desk:
    a, b = world.tenant("SDA", "甲保险"), world.tenant("SDB", "乙保险")
    world.user("sd.handler", Role.COMPLAINT_HANDLER, a)
    world.user("sd.sup", Role.SUPERVISOR, a)
    world.user("sd.reg", Role.REGULATOR, None)
    keys = {
        "sup": world.api_key(a, Role.SUPERVISOR),
        "handler": world.api_key(a, Role.COMPLAINT_HANDLER),
        "b_sup": world.api_key(b, Role.SUPERVISOR),
    }
    with unit_of_work(TenantContext.for_tenant(a.id)) as session:
        users = {u.username: u.id for u in session.execute(select(User).where(User.tenant_id == a.id)).scalars()}
    return Desk(a, b, users, keys)


def add_request(
    session: Session,
    tenant_id: int,
    received_at: dt.datetime,
    *,
    category: str = "enquiry",
    priority: str = "normal",
    team: str | None = "general",
    handler_id: int | None = None,
    start: bool = True,
) -> ServiceRequest:
    """A request row as intake writes it, and its clocks started."""
    request = ServiceRequest(
        tenant_id=tenant_id,
        number=f"SR-2026-{next(_numbers):06d}",
        channel="api",
        category=category,
        priority=priority,
        subject="保单贷款怎么办理",
        description="请问保单贷款需要哪些材料",
        team=team,
        handler_id=handler_id,
        status="open",
        received_at=received_at,
        created_by="test",
        articles_used=[],
    )
    session.add(request)
    session.flush()
    if start:
        clocks.start_for(session, request)
    return request


def by_policy(session: Session, request: ServiceRequest) -> dict[str, ServiceRequestClock]:
    return {c.policy_code: c for c in clocks.clocks_of(session, [request.id]).get(request.id, [])}
