"""The staff-side task tests' world (h2: test_tasks.py, test_task_clocks.py), one per module and dialect: insurer
ACME with branch B1 (an adjuster who handles the claims, her supervisor), a quality manager and an admin; motor
claims (one assigned, one closed, one large), a medical claim whose report names hospital HOSP-1; providers made
through the register's service: APP-1 (appraisal agency, contract: appraisal 5 working days), APP-2 (appraisal
agency, no contract), SUS-1 (suspended), HOSP-1 (hospital). Claims come in through the events API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch import db, reactions
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import service as register
from claimwatch.providers import subscriptions as provider_subscriptions
from claimwatch.providers.schemas import ProviderIn
from claimwatch.tenancy import repository as tenancy_repository
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, PASSWORD, TenantHandle, World, reported, transition
from tests.reports.helpers import module_database

CST = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=CST)  # a working Monday


@dataclass
class TaskWorld:
    client: TestClient
    world: World
    tenant: TenantHandle
    users: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # role name → API key

    def principal(self, name: str = "adj") -> Principal:
        roles = {"adj": Role.ADJUSTER, "sup": Role.SUPERVISOR, "qm": Role.QUALITY_MANAGER, "admin": Role.ADMIN}
        return Principal(
            role=roles[name], tenant_id=self.tenant.id, actor=f"user:acme.{name}", user_id=self.users.get(name)
        )

    def headers(self, name: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[name]}

    def ingest(self, events: list[dict[str, Any]]) -> None:
        response = self.client.post(
            "/api/v1/events", json={"events": events}, headers={"X-API-Key": self.tenant.api_key}
        )
        assert response.status_code == 201, response.text

    def session(self) -> Any:
        return unit_of_work(TenantContext.for_tenant(self.tenant.id))


def _wire_subscription() -> None:
    """Until claimwatch/subscriptions.py loads providers.subscriptions (the lead wires it)."""
    handlers = reactions.subscribers(reactions.CASE_EVENTS)
    if provider_subscriptions.send_tasks_by_rule not in handlers:
        reactions._subscribers[reactions.CASE_EVENTS].append(provider_subscriptions.send_tasks_by_rule)


def build(world: World, client: TestClient) -> TaskWorld:
    tenant = world.tenant("ACME", "示例保险")
    tw = TaskWorld(client, world, tenant)
    with tw.session() as session:
        b1 = tenancy_repository.org_ids_by_code(session)["ACME-B1"]
        for name, role in (("adj", Role.ADJUSTER), ("sup", Role.SUPERVISOR), ("qm", Role.QUALITY_MANAGER)):
            user = auth_service.create_user(
                session,
                username=f"acme.{name}",
                password=PASSWORD,
                role=role,
                tenant_id=tenant.id,
                display_name=name,
                org_unit_id=b1 if name != "qm" else None,
            )
            tw.users[name] = user.id
    for name, role in (("adj", Role.ADJUSTER), ("sup", Role.SUPERVISOR), ("qm", Role.QUALITY_MANAGER)):
        tw.keys[name] = world.api_key(tenant, role)
    with tw.session() as session:
        admin = tw.principal("admin")
        for code, kind in (("APP-1", "appraisal_agency"), ("APP-2", "appraisal_agency"), ("SUS-1", "appraisal_agency")):
            data = ProviderIn(code=code, name=f"{code} 鉴定所", kind=kind, contact_email=f"{code.lower()}@example.cn")
            register.register(session, admin, data)
        register.register(session, admin, ProviderIn(code="HOSP-1", name="市第一人民医院", kind="hospital"))
        register.add_contract(
            session, admin, "APP-1", "ACME-K1", dt.date(2026, 1, 1), None, "FEE-1", {"appraisal": (5, "working_days")}
        )
        register.set_status(session, admin, "SUS-1", "suspended", "报告多次超期")
    _wire_subscription()
    assign = {"event_id": "C1-a", "claim_number": "C1", "type": "assigned", "assignee": "acme.adj"}
    tw.ingest(
        [
            reported("C1-r", "C1", org_code="ACME-B1"),
            dict(assign, occurred_at=reported("x", "C1")["occurred_at"]),
            reported("C2-r", "C2", org_code="ACME-B1"),
            *[transition(f"C2-{i}", "C2", state, hours=1 + i) for i, state in enumerate(HAPPY_PATH)],
        ]
    )
    return tw


@pytest.fixture(scope="module", params=["sqlite", "postgresql"], name="task_world")
def task_world_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[TaskWorld]:
    tmp = tmp_path_factory.mktemp(f"providers-h2-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(tmp / "documents"))
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        yield build(world, TestClient(shared_app()))
    get_settings.cache_clear()
    for _ in databases:
        pass
