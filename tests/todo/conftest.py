"""A world with work waiting on every role: ACME (head office, branches B1 and B2) and BBB.

Claims (reported 2026-11-02 09:00 local unless said; sweeps on 11-03 12:00 and 11-05 10:00):
  T-RED  B1, 800 CNY, assigned to li.adjuster: yellow then red (escalations in B1)
  T-YEL  B1, 1 200 CNY, reported 30 h later, assigned to li.adjuster: yellow (escalation in B1)
  T-NEW  B1, reported 11-05 09:00, assigned to li.adjuster: green, nearest deadline after T-YEL's
  T-DONE B1, assigned to li.adjuster, closed: not waiting
  T-B2   B2, 700 CNY, assigned to zhou.adjuster: red (escalations in B2, outside wang's subtree)
  T-HQ   no org, 600 CNY: red (escalations with no org unit: only a tenant-wide supervisor sees them)
  B-RED  BBB, assigned to the BBB adjuster: red
Complaints: two filed by ACME's handler (its own), one by the core system (nobody's), one by BBB's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla import jobs
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, PASSWORD, TenantHandle, World, at, reported, transition
from tests.snapshots import Snapshot

CST = dt.timezone(dt.timedelta(hours=8))
FIRST_SWEEP = dt.datetime(2026, 11, 3, 12, 0, tzinfo=CST)
SECOND_SWEEP = dt.datetime(2026, 11, 5, 10, 0, tzinfo=CST)
NOW = dt.datetime(2026, 11, 5, 10, 30, tzinfo=CST)


@dataclass(frozen=True)
class TodoWorld:
    acme: TenantHandle
    bbb: TenantHandle
    adjuster: str  # li.adjuster, ACME
    other_adjuster: str  # zhou.adjuster, ACME
    supervisor: str  # wang.supervisor, ACME, attached to B1
    head_supervisor: str  # chen.supervisor, ACME, no org unit: the whole insurer
    handler: str  # ACME complaint handler
    quality: str
    inspector: str
    admin: str
    regulator: str
    bbb_adjuster: str
    bbb_supervisor: str
    complaints: dict[str, str]  # label -> number


def _user(world: World, username: str, role: Role, tenant: TenantHandle | None, org_code: str | None = None) -> str:
    if org_code is None:
        return world.user(username, role, tenant)
    assert tenant is not None
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        org = tenancy_repository.org_unit_by_code(session, org_code)
        assert org is not None
        auth_service.create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            tenant_id=tenant.id,
            display_name=username,
            org_unit_id=org.id,
        )
    return username


def principal_of(username: str) -> Principal:
    with unit_of_work(TenantContext.system_context()) as session:
        user = auth_repository.user_by_username(session, username)
        assert user is not None
        return auth_service.principal_for_user(user)


def _assigned(event_id: str, number: str, assignee: str, hours: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "claim_number": number,
        "type": "assigned",
        "assignee": assignee,
        "occurred_at": at(hours),
    }


def _ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


def _complaint(tenant_id: int, principal: Principal, subject: str, org_code: str | None = None) -> str:
    body: dict[str, Any] = {
        "channel": "hotline",
        "received_at": dt.datetime(2026, 11, 2, 10, tzinfo=CST),
        "complainant": {"name": "李四", "phone": "13900001111"},
        "category": "claims",
        "sub_cause": "delay",
        "subject": subject,
        "description": "报案一个月了还没有赔付，客服电话打不通。",
    }
    if org_code:
        body["org_code"] = org_code
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        complaint = complaints_intake.create_complaint(
            session, principal, complaint_schemas.ComplaintIn.model_validate(body)
        )
        return complaint.number


def build(world: World) -> TodoWorld:
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险", region="310000")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        tenancy_service.add_org_unit(
            session, tenant_id=acme.id, code="ACME-B2", name="上海分公司", parent_code="ACME-HQ", region_code="310000"
        )
    people = dict(
        adjuster=world.user("li.adjuster", Role.ADJUSTER, acme),
        other_adjuster=world.user("zhou.adjuster", Role.ADJUSTER, acme),
        supervisor=_user(world, "wang.supervisor", Role.SUPERVISOR, acme, acme.branch_code),
        head_supervisor=world.user("chen.supervisor", Role.SUPERVISOR, acme),
        handler=world.user("sun.handler", Role.COMPLAINT_HANDLER, acme),
        quality=world.user("qian.quality", Role.QUALITY_MANAGER, acme),
        inspector=world.user("zhang.inspector", Role.INSPECTOR, acme),
        admin=world.user("acme.admin", Role.ADMIN, acme),
        regulator=world.user("cbirc.gd", Role.REGULATOR, None),
        bbb_adjuster=world.user("zhao.adjuster", Role.ADJUSTER, bbb),
        bbb_supervisor=world.user("zhao.supervisor", Role.SUPERVISOR, bbb),
    )
    api = TestClient(shared_app())
    b1 = acme.branch_code
    _ingest(
        api,
        acme,
        [
            reported("r1", "T-RED", org_code=b1, amount="800.00", hours=0),
            _assigned("r2", "T-RED", people["adjuster"], 0.5),
            reported("y1", "T-YEL", org_code=b1, amount="1200.00", hours=30),
            _assigned("y2", "T-YEL", people["adjuster"], 30.5),
            reported("n1", "T-NEW", org_code=b1, amount="1500.00", hours=72),
            _assigned("n2", "T-NEW", people["adjuster"], 72.5),
            reported("d1", "T-DONE", org_code=b1, amount="900.00", hours=0),
            _assigned("d2", "T-DONE", people["adjuster"], 0.5),
            *[transition(f"d{i + 3}", "T-DONE", status, hours=1 + i) for i, status in enumerate(HAPPY_PATH)],
            reported("b1", "T-B2", org_code="ACME-B2", amount="700.00", hours=0),
            _assigned("b2", "T-B2", people["other_adjuster"], 0.5),
            reported("h1", "T-HQ", amount="600.00", hours=0),
        ],
    )
    _ingest(
        api,
        bbb,
        [reported("x1", "B-RED", amount="500.00", hours=0), _assigned("x2", "B-RED", people["bbb_adjuster"], 1)],
    )
    jobs.sweep(now=FIRST_SWEEP)
    jobs.sweep(now=SECOND_SWEEP)
    handler = principal_of(people["handler"])
    core = Principal(role=Role.INTEGRATION, tenant_id=acme.id, actor="api_key:core")
    complaints = {
        "mine-1": _complaint(acme.id, handler, "理赔拖延", b1),
        "mine-2": _complaint(acme.id, handler, "态度差", b1),
        "nobody": _complaint(acme.id, core, "电话打不通", b1),
        "bbb": _complaint(bbb.id, Principal(role=Role.INTEGRATION, tenant_id=bbb.id, actor="api_key:bbb"), "外司投诉"),
    }
    return TodoWorld(acme=acme, bbb=bbb, complaints=complaints, **people)


@pytest.fixture
def todo(world: World, db_snapshot: Snapshot) -> TodoWorld:
    return db_snapshot("todo.todo", lambda: build(world))


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


def make_recent(todo: TodoWorld) -> dict[str, str]:
    """What pages read against the wall clock (filings and low scores of the last 30 days, alerts of the
    recent months), moved to now; plus one low survey score on T-DONE and one quality alert of ACME.
    Returns the keys made (the survey response id, the alert id)."""
    from sqlalchemy import select, update

    from claimwatch.cases.models import Claim
    from claimwatch.db import utc_now
    from claimwatch.kpi.models import QualityAlert
    from claimwatch.sla.models import RegulatorFiling
    from claimwatch.surveys.models import Survey, SurveyResponse

    now = utc_now()
    made: dict[str, str] = {}
    for tenant in (todo.acme, todo.bbb):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            session.execute(update(RegulatorFiling).values(filed_at=now - dt.timedelta(hours=2)))
    with unit_of_work(TenantContext.for_tenant(todo.acme.id)) as session:
        claim = session.execute(select(Claim).where(Claim.number == "T-DONE")).scalar_one()
        survey = Survey(
            tenant_id=todo.acme.id,
            subject_key=f"claim:{claim.id}:1",
            subject_type="claim",
            claim_id=claim.id,
            reference=claim.number,
            org_unit_id=claim.org_unit_id,
            region_code=claim.region_code,
            line=claim.line,
            outcome="closed",
            token_hash="0" * 64,
            status="responded",
            closed_at=now - dt.timedelta(days=2),
            sent_at=now - dt.timedelta(days=2),
            expires_at=now + dt.timedelta(days=28),
            responded_at=now - dt.timedelta(days=1),
        )
        session.add(survey)
        session.flush()
        response = SurveyResponse(
            tenant_id=todo.acme.id,
            survey_id=survey.id,
            overall=2,
            comment="太慢了",
            submitted_at=now - dt.timedelta(days=1),
        )
        session.add(response)
        period = now.astimezone(CST).strftime("%Y-%m")
        alert = QualityAlert(
            tenant_id=todo.acme.id,
            kpi_code="overdue_rate",
            dimension="region",
            unit_key="440000",
            unit_label="广东省",
            period=period,
            rate=0.5,
            expected=0.1,
            lower_limit=0.0,
            upper_limit=0.25,
            numerator=3,
            count=6,
        )
        session.add(alert)
        session.flush()
        made["response"] = str(response.id)
        made["alert"] = str(alert.id)
    return made
