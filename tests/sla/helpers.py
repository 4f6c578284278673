from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla.models import SlaClock

CST = dt.timezone(dt.timedelta(hours=8))


def post_events(client: Any, key: str, events: list[dict[str, Any]]) -> Any:
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": key})
    assert response.status_code in (200, 201), response.text
    return response


def clocks(tenant_id: int, policy: str | None = None) -> list[SlaClock]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        statement = select(SlaClock).order_by(SlaClock.claim_id, SlaClock.policy_code, SlaClock.cycle)
        if policy is not None:
            statement = statement.where(SlaClock.policy_code == policy)
        return list(session.execute(statement).scalars())


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)
