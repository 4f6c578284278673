"""Fixtures for the complaint screens: two insurers with complaint staff, a regulator, a claim to complain
about, and complaints filed through the real service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas
from claimwatch.complaints import service as complaints_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

CST = dt.timezone(dt.timedelta(hours=8))
CLEAR_PHONE = "13812345678"
CLEAR_ID_NUMBER = "110101199003071234"
TEXT_PHONE = "13700007777"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)


def days_ago(days: float) -> dt.datetime:
    """Deadlines run from receipt to now: the screens' complaints are received relative to today."""
    return utc_now() - dt.timedelta(days=days)


def principal_of(username: str) -> Principal:
    with unit_of_work(TenantContext.system_context()) as session:
        user = auth_repository.user_by_username(session, username)
        assert user is not None
        return auth_service.principal_for_user(user)


def file_complaint(username: str, **fields: Any) -> str:
    """A complaint recorded through the service as this user; its number."""
    principal = principal_of(username)
    assert principal.tenant_id is not None
    body: dict[str, Any] = {
        "channel": "hotline",
        "received_at": days_ago(3),
        "complainant": {"name": "李四", "phone": "13900001111"},
        "category": "claims",
        "sub_cause": "delay",
        "subject": "理赔拖延",
        "description": "报案一个月了还没有赔付。",
    }
    body.update(fields)
    with unit_of_work(TenantContext.for_tenant(principal.tenant_id)) as session:
        return complaints_intake.create_complaint(session, principal, schemas.ComplaintIn.model_validate(body)).number


def act(username: str, action: str, number: str, *args: Any) -> None:
    principal = principal_of(username)
    assert principal.tenant_id is not None
    with unit_of_work(TenantContext.for_tenant(principal.tenant_id)) as session:
        getattr(complaints_service, action)(session, principal, number, *args)


@dataclass(frozen=True)
class Office:
    acme: TenantHandle
    bbb: TenantHandle
    handler: str  # ACME complaint handler
    supervisor: str  # ACME: approves extensions
    adjuster: str  # ACME: may view complaints, not handle them
    regulator: str
    bbb_handler: str
    late: str  # ACME: received 20 days ago, past its 15-day deadline
    personal: str  # ACME: the claimant's complaint (3 days ago), with phone and ID number
    complex_one: str  # ACME: 2 days ago, marked complex (30 days), may be extended by a supervisor
    bbb_only: str  # BBB: yesterday, a number ACME does not have


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


@pytest.fixture
def office(world: World, db_snapshot: Snapshot) -> Office:
    return db_snapshot("complaints_web.office", lambda: build_office(world))


def build_office(world: World) -> Office:
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    handler = world.user("chen.handler", Role.COMPLAINT_HANDLER, acme)
    supervisor = world.user("wang.supervisor", Role.SUPERVISOR, acme)
    adjuster = world.user("li.adjuster", Role.ADJUSTER, acme)
    regulator = world.user("cbirc.gd", Role.REGULATOR, None)
    bbb_handler = world.user("zhao.bbb", Role.COMPLAINT_HANDLER, bbb)
    api = TestClient(shared_app())
    response = api.post(
        "/api/v1/events",
        json={"events": [reported("a1", "A-MOT-001", org_code=acme.branch_code, hours=0)]},
        headers={"X-API-Key": acme.api_key},
    )
    assert response.status_code == 201, response.text
    personal = file_complaint(
        handler,
        claim_number="A-MOT-001",
        complainant={"name": "张三丰", "phone": CLEAR_PHONE, "id_number": CLEAR_ID_NUMBER},
        subject="定损金额过低",
        description=f"定损员态度差，回电 {TEXT_PHONE}。",
        sub_cause="amount",
    )
    late = file_complaint(handler, received_at=days_ago(20), channel="letter", subject="迟迟未结案")
    complex_one = file_complaint(
        handler,
        received_at=days_ago(2),
        category="sales",
        sub_cause="misleading",
        channel="wechat",
        subject="销售误导",
        description="代理人承诺的收益与合同不符。",
        complainant={"name": "王五", "phone": "13600002222"},
    )
    act(handler, "mark_complex", complex_one, "需调取销售录音")
    bbb_only = file_complaint(bbb_handler, received_at=days_ago(1), subject="退保难")
    return Office(
        acme, bbb, handler, supervisor, adjuster, regulator, bbb_handler, late, personal, complex_one, bbb_only
    )


@pytest.fixture
def signed_in(client: TestClient) -> Iterator[Any]:
    """Signs the test client in as a user: ``signed_in(username)``."""

    def as_user(username: str) -> TestClient:
        sign_in(client, username)
        return client

    yield as_user
