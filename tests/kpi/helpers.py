"""Shared by the KPI and alert tests: a temporary snapshot directory and event builders at fixed times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import HAPPY_PATH, TenantHandle

CST = dt.timezone(dt.timedelta(hours=8))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)


def report(
    event_id: str,
    number: str,
    when: dt.datetime,
    amount: str = "800.00",
    region: str = "440000",
    org_code: str | None = None,
    line: str = "motor",
) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "line": line,
        "policy_number": f"POL-{number}",
        "claimant": {"name": "张三丰", "phone": "13812345678", "id_number": "110101199003071234"},
        "reported_amount": amount,
        "region_code": region,
    }
    if org_code:
        claim["org_code"] = org_code
    return {
        "event_id": event_id,
        "claim_number": number,
        "type": "reported",
        "occurred_at": when.isoformat(),
        "claim": claim,
    }


def close(number: str, start: dt.datetime, hours: list[float]) -> list[dict[str, Any]]:
    """The happy path to 结案, one status at each of ``hours`` (8 of them) after ``start``."""
    assert len(hours) == len(HAPPY_PATH)
    return [
        {
            "event_id": f"{number}-t{i}",
            "claim_number": number,
            "type": "transition",
            "to_status": status,
            "occurred_at": (start + dt.timedelta(hours=h)).isoformat(),
        }
        for i, (status, h) in enumerate(zip(HAPPY_PATH, hours, strict=True))
    ]


def ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 1000):
        response = client.post(
            "/api/v1/events", json={"events": events[start : start + 1000]}, headers={"X-API-Key": tenant.api_key}
        )
        assert response.status_code == 201, response.text


def steps(first: float, last: float) -> list[float]:
    count = len(HAPPY_PATH)
    return [first + (last - first) * i / (count - 1) for i in range(count)]
