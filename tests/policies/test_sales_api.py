"""The sales API (both databases): record (422 naming the field for an unknown agent or a bad SHA-256), read,
list with filters, cancel, link a complaint, the flags (clear with a reason), the summary by agent; roles (an
adjuster 403, a supervisor reads but does not write) and tenants (another insurer's sale is 404)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import World
from tests.policies.sales_world import SalesWorld, build
from tests.snapshots import Snapshot

NEW = {
    "policy_number": "P-API", "product_code": "HLT-1", "product_name": "安康医疗险", "line": "health",
    "long_term": False, "channel": "telesales", "agent": "A-OK", "premium": "1200.00", "signed_on": "2026-11-12",
    "disclosure_signed_on": "2026-11-12", "customer_id_number": "11010119900101002X", "customer_name": "赵六",
}  # fmt: skip


@pytest.fixture
def sw(world: World, db_snapshot: Snapshot) -> SalesWorld:
    return db_snapshot("policies.sales", lambda: build(world))


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_record_read_list_cancel_decide_roles_and_tenants(sw: SalesWorld):
    client = TestClient(shared_app())
    qm, sup = sw.headers("qm"), sw.headers("supervisor")
    refused = client.post("/api/v1/sales", json=NEW | {"agent": "NOBODY"}, headers=qm)
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "agent"
    bad_hash = client.post("/api/v1/sales", json=NEW | {"recording_ref": "r", "recording_sha256": "xyz"}, headers=qm)
    assert bad_hash.status_code == 422 and bad_hash.json()["problems"][0]["field"] == "recording_sha256"
    sale = ok(client.post("/api/v1/sales", json=NEW, headers=qm), 201)
    assert [f["rule"] for f in sale["flags"]] == ["missing_recording"]  # telesales needs 双录
    assert sale["customer"] == "赵*" and "customer_id_number" not in sale and "customer_key" not in sale
    assert client.post("/api/v1/sales", json=NEW, headers=qm).status_code == 409
    flagged = ok(client.get("/api/v1/sales?flagged=flagged&channel=telesales", headers=sup))
    assert [row["policy_number"] for row in flagged] == ["P-API"]
    by_rule = ok(client.get("/api/v1/sales?rule=unlicensed_agent", headers=sup))
    assert [row["policy_number"] for row in by_rule] == ["P-UNLIC"]
    assert client.get("/api/v1/sales?period=2026-13", headers=sup).status_code == 422
    cancelled = ok(client.post("/api/v1/sales/P-API/cancel", json={"cancelled_on": "2026-11-20"}, headers=qm))
    assert cancelled["cooling_off_cancel"] is True
    flags = ok(client.get("/api/v1/sales/flags", headers=sup))
    assert {f["status"] for f in flags[:5]} == {"open"}
    target = next(f for f in flags if f["policy_number"] == "P-API")
    decision = {"decision": "confirm", "reason": "电销未录音，已责令整改"}
    assert client.post(f"/api/v1/sales/flags/{target['id']}/decision", json=decision, headers=sup).status_code == 403
    assert ok(client.post(f"/api/v1/sales/flags/{target['id']}/decision", json=decision, headers=qm))["status"] == (
        "confirmed"
    )
    agents = {row["agent"]: row for row in ok(client.get("/api/v1/sales/agents?period=2026-11", headers=sup))}
    assert agents["A-EXP"]["licensed"] is False and agents["A-EXP"]["flagged"] == 1
    assert agents["A-OK"]["sales"] == 3 and agents["A-OK"]["cooling_off"] == 1
    link = client.post("/api/v1/sales/P-API/complaints", json={"complaint_number": "C-NONE"}, headers=qm)
    assert link.status_code == 404 and link.json()["problems"][0]["field"] == "complaint_number"
    # Roles and tenants.
    assert client.get("/api/v1/sales", headers=sw.headers("adjuster")).status_code == 403
    assert client.post("/api/v1/sales", json=NEW, headers=sw.headers("supervisor")).status_code == 403
    assert client.get("/api/v1/sales/P-UNLIC", headers=sw.headers("bbb")).status_code == 404
    assert client.get("/api/v1/sales/flags", headers=sw.headers("bbb")).json() == []
    other = client.post("/api/v1/sales/P-UNLIC/cancel", json={"cancelled_on": "2026-11-20"}, headers=sw.headers("bbb"))
    assert other.status_code == 404
    assert client.get("/api/v1/sales/P-UNLIC", headers=sw.headers("qm")).json()["agent_licensed"] is False
