"""Test data made through the same services the API and CLI use."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

PASSWORD = "correct-horse-battery"
INSURERS_ZONE = ZoneInfo("Asia/Shanghai")


def local_today() -> dt.date:
    """The insurers' local day, read when the test runs. A module constant read at import goes stale when the suite
    crosses local midnight (16:00 UTC), and the services' own "today" no longer matches it."""
    return utc_now().astimezone(INSURERS_ZONE).date()


@dataclass(frozen=True)
class TenantHandle:
    id: int
    code: str
    api_key: str
    branch_code: str


class World:
    def __init__(self, url: str) -> None:
        self.url = url
        self._counter = itertools.count(1)

    def tenant(self, code: str = "ACME", name: str = "示例保险", region: str = "440000") -> TenantHandle:
        with unit_of_work(TenantContext.system_context()) as session:
            tenant = tenancy_service.create_tenant(session, code=code, name=name)
            workflow_service.record_workflows(session, tenant.id, "test")
            tenant_id = tenant.id
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            tenancy_service.add_org_unit(
                session,
                tenant_id=tenant_id,
                code=f"{code}-B1",
                name="广东分公司",
                parent_code=f"{code}-HQ",
                region_code=region,
            )
            _, key = auth_service.create_api_key(session, tenant_id=tenant_id, name=f"{code}-core")
        return TenantHandle(tenant_id, code, key, f"{code}-B1")

    def user(self, username: str, role: Role, tenant: TenantHandle | None) -> str:
        context = TenantContext.for_tenant(tenant.id) if tenant else TenantContext.system_context()
        with unit_of_work(context) as session:
            auth_service.create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                tenant_id=tenant.id if tenant else None,
                display_name=username,
            )
        return username

    def api_key(self, tenant: TenantHandle, role: Role) -> str:
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            _, key = auth_service.create_api_key(
                session, tenant_id=tenant.id, name=f"k{next(self._counter)}", role=role
            )
        return key


def at(hours: float = 0) -> str:
    base = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return (base + dt.timedelta(hours=hours)).isoformat()


def reported(
    event_id: str,
    number: str,
    *,
    line: str = "motor",
    org_code: str | None = None,
    amount: str = "3200.00",
    hours: float = 0,
    **claim: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "line": line,
        "policy_number": f"POL-{number}",
        "claimant": {"name": "张三丰", "phone": "13812345678", "id_number": "110101199003071234"},
        "reported_amount": amount,
        "region_code": "440000",
    }
    if org_code:
        body["org_code"] = org_code
    body.update(claim)
    return {"event_id": event_id, "claim_number": number, "type": "reported", "occurred_at": at(hours), "claim": body}


def transition(
    event_id: str, number: str, to_status: str, *, hours: float = 1, reason: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "claim_number": number,
        "type": "transition",
        "to_status": to_status,
        "occurred_at": at(hours),
    }
    if reason is not None:
        event["reason"] = reason
    return event


HAPPY_PATH = [
    "accepted",
    "initial_review",
    "investigation",
    "assessment",
    "verification",
    "approval",
    "payment",
    "closed",
]
