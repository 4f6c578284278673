from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints import schemas
from claimwatch.complaints.models import Complaint, ComplaintClock, ComplaintEvent
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import OutboxMessage, StaffNotification
from tests.factories import TenantHandle, World

CST = dt.timezone(dt.timedelta(hours=8))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)


def end_of_local_day(year: int, month: int, day: int) -> dt.datetime:
    """A whole-day deadline: the midnight that ends the local day, in UTC."""
    return (local(year, month, day) + dt.timedelta(days=1)).astimezone(dt.UTC)


class Desk:
    """A tenant and its staff; each staff member (a real user) is made the first time a test needs them."""

    def __init__(self, world: World, tenant: TenantHandle) -> None:
        self.world = world
        self.tenant = tenant

    @classmethod
    def create(cls, world: World, code: str) -> Desk:
        return cls(world, world.tenant(code))

    def _staff(self, role: Role) -> Principal:
        username = self.world.user(f"{self.tenant.code.lower()}.{role.value}", role, self.tenant)
        with unit_of_work(TenantContext.system_context()) as session:
            user = auth_repository.user_by_username(session, username)
            assert user is not None
            return auth_service.principal_for_user(user)

    @cached_property
    def handler(self) -> Principal:
        return self._staff(Role.COMPLAINT_HANDLER)

    @cached_property
    def supervisor(self) -> Principal:
        return self._staff(Role.SUPERVISOR)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with unit_of_work(TenantContext.for_tenant(self.tenant.id)) as session:
            yield session

    def file(self, principal: Principal | None = None, **fields: Any) -> str:
        """Record a complaint through the service; its number."""
        body: dict[str, Any] = {
            "channel": "hotline",
            "received_at": local(2026, 11, 2, 10),
            "complainant": {"name": "李四", "phone": "13900001111"},
            "category": "claims",
            "sub_cause": "delay",
            "subject": "理赔拖延",
            "description": "报案一个月了还没有赔付，客服电话打不通。",
        }
        body.update(fields)
        with self.session() as session:
            complaint = complaints_intake.create_complaint(
                session, principal or self.handler, schemas.ComplaintIn.model_validate(body)
            )
            return complaint.number

    def complaint(self, number: str) -> Complaint:
        with self.session() as session:
            return complaint_queries.get_complaint(session, number)

    def clocks(self, number: str, policy: str | None = None) -> list[ComplaintClock]:
        with self.session() as session:
            complaint = complaint_queries.get_complaint(session, number)
            statement = (
                select(ComplaintClock)
                .where(ComplaintClock.complaint_id == complaint.id)
                .order_by(ComplaintClock.policy_code, ComplaintClock.cycle)
            )
            if policy is not None:
                statement = statement.where(ComplaintClock.policy_code == policy)
            return list(session.execute(statement).scalars())

    def events(self, number: str) -> list[ComplaintEvent]:
        with self.session() as session:
            complaint = complaint_queries.get_complaint(session, number)
            return list(
                session.execute(
                    select(ComplaintEvent)
                    .where(ComplaintEvent.complaint_id == complaint.id)
                    .order_by(ComplaintEvent.id)
                ).scalars()
            )

    def messages(self, number: str) -> list[OutboxMessage]:
        with self.session() as session:
            return list(
                session.execute(
                    select(OutboxMessage).where(OutboxMessage.reference == number).order_by(OutboxMessage.id)
                ).scalars()
            )

    def staff_notices(self) -> list[StaffNotification]:
        with self.session() as session:
            return list(session.execute(select(StaffNotification).order_by(StaffNotification.id)).scalars())


def decision(**fields: Any) -> schemas.DecisionIn:
    body: dict[str, Any] = {
        "outcome": "partly_upheld",
        "facts": "经核实，该案材料于10月28日齐全，理算延误5日。",
        "basis": "依据保险合同第十二条及《保险法》第二十三条。",
        "remedy": "我司已于11月10日支付赔款。",
        "compensation": "200.00",
    }
    body.update(fields)
    return schemas.DecisionIn.model_validate(body)
