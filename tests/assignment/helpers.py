"""A tenant with handlers, profiles and claims made through the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.assignment import service
from claimwatch.assignment.models import AssignmentDecision
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.tenancy import service as tenancy_service
from tests.factories import TenantHandle, World, reported


class Office:
    def __init__(self, world: World, code: str = "ACME") -> None:
        self.world = world
        self.tenant: TenantHandle = world.tenant(code)
        self.code = code
        with self.session() as session:
            tenancy_service.add_org_unit(
                session,
                tenant_id=self.tenant.id,
                code=f"{code}-SH",
                name="上海分公司",
                parent_code=f"{code}-HQ",
                region_code="310000",
            )
        self.admin = self.principal(f"{code.lower()}.admin", Role.ADMIN)
        self.supervisor = self.principal(f"{code.lower()}.sup", Role.SUPERVISOR)
        self._n = 0

    @contextmanager
    def session(self) -> Iterator[Session]:
        with unit_of_work(TenantContext.for_tenant(self.tenant.id)) as session:
            yield session

    def principal(self, username: str, role: Role) -> Principal:
        self.world.user(username, role, self.tenant)
        with unit_of_work(TenantContext.system_context()) as session:
            user = auth_repository.user_by_username(session, username)
            assert user is not None
            return auth_service.principal_for_user(user)

    def handler(self, username: str, role: Role = Role.ADJUSTER, **profile: Any) -> str:
        self.world.user(username, role, self.tenant)
        self.profile(username, **profile)
        return username

    def profile(self, username: str, **fields: Any) -> None:
        values: dict[str, Any] = {
            "username": username,
            "lines": [],
            "claim_types": [],
            "authority": None,
            "org_code": None,
            "region_codes": [],
            "capacity": 20,
            "handles_claims": True,
            "handles_complaints": False,
            "active": True,
        }
        values.update(fields)
        if values["authority"] is not None:
            values["authority"] = Decimal(values["authority"])
        with self.session() as session:
            service.save_profile(session, self.admin, service.ProfileChange(**values))

    def mode(self, mode: str) -> None:
        with self.session() as session:
            service.set_mode(session, self.admin, mode)

    def report(self, *claims: dict[str, Any]) -> list[str]:
        events = []
        numbers = []
        for claim in claims:
            self._n += 1
            number = claim.pop("number", f"{self.code}-C{self._n:04d}")
            numbers.append(number)
            events.append(EventIn.model_validate(reported(f"{self.code}-e{self._n}", number, **claim)))
        api = Principal(role=Role.INTEGRATION, tenant_id=self.tenant.id, actor="api_key:core")
        with self.session() as session:
            cases_service.ingest_events(session, api, events)
        return numbers

    def assignee(self, number: str) -> str | None:
        with self.session() as session:
            claim = session.scalars(select(Claim).where(Claim.number == number)).one()
            if claim.assignee_id is None:
                return None
            user = auth_repository.user_by_id(session, claim.assignee_id)
            return user.username if user else None

    def decisions(self) -> list[dict[str, Any]]:
        with self.session() as session:
            rows = session.scalars(select(AssignmentDecision).order_by(AssignmentDecision.id)).all()
            names = auth_repository.usernames_by_id(session, {r.user_id for r in rows if r.user_id})
            return [
                {
                    "case": r.case_number,
                    "user": names.get(r.user_id) if r.user_id else None,
                    "status": r.status,
                    "mode": r.mode,
                    "refused": r.explanation.get("refused", {}),
                    "version": r.rules_version,
                }
                for r in rows
            ]

    def leave(self, username: str, starts: dt.date, ends: dt.date) -> None:
        with self.session() as session:
            service.add_leave(session, self.supervisor, username, starts, ends, "年假")
