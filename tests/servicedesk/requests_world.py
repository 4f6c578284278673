"""The world of the requests-core tests (h1): two insurers, insurer A with a reported claim (claimant 张三丰), a 客服
handler, a second handler, a supervisor, an adjuster (reads only), the regulator, and API keys; helpers to call the
service-request API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported
from tests.web.conftest import sign_in

BASE = "/api/v1/service-requests"
PHONE = "13912345678"
ID_NUMBER = "110101199003074514"
CLAIM = "CLM-SD-1"
CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Desk:
    a: TenantHandle
    b: TenantHandle
    keys: dict[str, str]


def build(world: World) -> Desk:
    a, b = world.tenant("SRA", "甲保险"), world.tenant("SRB", "乙保险")
    world.user("sr.cs", Role.COMPLAINT_HANDLER, a)
    world.user("sr.cs2", Role.COMPLAINT_HANDLER, a)
    world.user("sr.sup", Role.SUPERVISOR, a)
    world.user("sr.adj", Role.ADJUSTER, a)
    world.user("sr.reg", Role.REGULATOR, None)
    keys = {"b": world.api_key(b, Role.INTEGRATION), "adj": world.api_key(a, Role.ADJUSTER)}
    core = TestClient(shared_app(), headers={"X-API-Key": a.api_key})
    response = core.post("/api/v1/events", json={"events": [reported("e-sd-1", CLAIM, org_code=a.branch_code)]})
    assert response.status_code in (200, 201, 207), response.text
    return Desk(a, b, keys)


def core(key: str) -> TestClient:
    return TestClient(shared_app(), headers={"X-API-Key": key})


def staff(username: str) -> TestClient:
    client = TestClient(shared_app(), headers={"Origin": "http://testserver"})
    sign_in(client, username)
    return client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def body(**fields: Any) -> dict[str, Any]:
    """A request as the core system sends it (an enquiry from a customer with a phone and ID number)."""
    return {
        "channel": "phone",
        "category": "enquiry",
        "subject": "保单贷款怎么办理",
        "description": "您好，我想咨询保单贷款需要哪些材料，多久可以到账？我的电话 13912345678。",
        "customer": {"name": "李四", "phone": PHONE, "id_number": ID_NUMBER},
    } | fields
