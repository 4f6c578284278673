"""The queue world shared by the queue's HTTP and browser tests (tests/sla/test_queue_pages.py,
tests/web/test_queue_browser.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth.models import Role, User
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla import jobs
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, TenantHandle, World, reported, transition
from tests.snapshots import Snapshot

CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Queue:
    acme: TenantHandle
    bbb: TenantHandle
    head: str  # ACME supervisor at no unit: the whole insurer
    gd: str  # ACME supervisor of 广东分公司 (ACME-B1) and 深圳支公司 below it
    js: str  # ACME supervisor of 江苏分公司 (ACME-B2)
    adjuster: str
    bbb_supervisor: str


def _ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


def _attach(username: str, tenant: TenantHandle, org_code: str) -> None:
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        unit = tenancy_repository.org_unit_by_code(session, org_code)
        assert unit is not None
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        user.org_unit_id = unit.id


@pytest.fixture
def queue(world: World, db_snapshot: Snapshot) -> Queue:
    return db_snapshot("sla.queue", lambda: build_queue(world))


def build_queue(world: World) -> Queue:
    """ACME (HQ; 广东分公司 B1 with 深圳支公司 B1-SZ; 江苏分公司 B2), after three sweeps:
    Q-RED (B1): small-claim clock red and the materials-notice clock yellow (three escalations);
    Q-JS (B2, medical): red; Q-YEL (B1-SZ): yellow; Q-DONE (B1): yellow, closed late; Q-NEW (B1),
    reported after the sweeps: no escalation.
    BBB: B-RED, red."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        tenancy_service.add_org_unit(
            session,
            tenant_id=acme.id,
            code="ACME-B1-SZ",
            name="深圳支公司",
            parent_code="ACME-B1",
            region_code="440000",
        )
        tenancy_service.add_org_unit(
            session, tenant_id=acme.id, code="ACME-B2", name="江苏分公司", parent_code="ACME-HQ", region_code="320000"
        )
    handles = Queue(
        acme=acme,
        bbb=bbb,
        head=world.user("wang.supervisor", Role.SUPERVISOR, acme),
        gd=world.user("gd.supervisor", Role.SUPERVISOR, acme),
        js=world.user("js.supervisor", Role.SUPERVISOR, acme),
        adjuster=world.user("li.adjuster", Role.ADJUSTER, acme),
        bbb_supervisor=world.user("zhao.bbb", Role.SUPERVISOR, bbb),
    )
    _attach(handles.gd, acme, "ACME-B1")
    _attach(handles.js, acme, "ACME-B2")
    api = TestClient(shared_app())
    _ingest(
        api,
        acme,
        [
            reported("r1", "Q-RED", org_code="ACME-B1", amount="800.00", hours=0),
            reported("y1", "Q-YEL", org_code="ACME-B1-SZ", amount="1200.00", hours=71),
            reported("j1", "Q-JS", org_code="ACME-B2", line="medical", amount="900.00", hours=48),
            reported("n1", "Q-NEW", org_code="ACME-B1", amount="700.00", hours=200),
            reported("d1", "Q-DONE", org_code="ACME-B1", amount="700.00", hours=0),
            *[transition(f"d{i + 2}", "Q-DONE", status, hours=23 + i) for i, status in enumerate(HAPPY_PATH)],
        ],
    )
    _ingest(api, bbb, [reported("b1", "B-RED", amount="500.00", hours=0)])
    jobs.sweep(now=dt.datetime(2026, 11, 3, 12, 0, tzinfo=CST))  # Q-RED, Q-DONE, B-RED yellow
    jobs.sweep(now=dt.datetime(2026, 11, 5, 10, 0, tzinfo=CST))  # Q-RED, B-RED red; Q-JS yellow
    jobs.sweep(now=dt.datetime(2026, 11, 6, 10, 0, tzinfo=CST))  # Q-RED materials yellow; Q-YEL yellow; Q-JS red
    return handles
