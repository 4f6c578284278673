"""The HTTP API: roles, tenant isolation, masking, the queue by deadline, actions, volumes."""

from __future__ import annotations

import datetime as dt

from claimwatch.auth.models import Role
from tests.complaints.helpers import Desk, local
from tests.web.conftest import sign_in

PHONE = "13912345678"


def _body(**change):
    body = {
        "channel": "app",
        "received_at": "2026-11-02T10:00:00+08:00",
        "complainant": {"name": "钱七", "phone": PHONE, "id_number": "110101199003071234", "email": "qq@example.cn"},
        "category": "claims",
        "sub_cause": "amount",
        "subject": "定损金额太低",
        "description": "定损只给了一半。",
    }
    return body | change


def test_roles_and_tenants(client, desk: Desk) -> None:
    handler = desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)
    adjuster = desk.world.api_key(desk.tenant, Role.ADJUSTER)
    created = client.post("/api/v1/complaints", json=_body(), headers={"X-API-Key": handler})
    assert created.status_code == 201, created.text
    number = created.json()["number"]

    # An adjuster reads but may not act.
    assert client.get(f"/api/v1/complaints/{number}", headers={"X-API-Key": adjuster}).status_code == 200
    decided = client.post(
        f"/api/v1/complaints/{number}/decide",
        json={"outcome": "upheld", "facts": "x", "basis": "y"},
        headers={"X-API-Key": adjuster},
    )
    assert decided.status_code == 403
    assert client.post("/api/v1/complaints", json=_body(), headers={"X-API-Key": adjuster}).status_code == 403

    # Another insurer's complaint does not exist for this one.
    other = Desk.create(desk.world, "BETA")
    other_key = desk.world.api_key(other.tenant, Role.COMPLAINT_HANDLER)
    missing = client.get(f"/api/v1/complaints/{number}", headers={"X-API-Key": other_key})
    assert missing.status_code == 404 and missing.json()["problems"][0]["field"] == "number"
    assert client.post(f"/api/v1/complaints/{number}/accept", headers={"X-API-Key": other_key}).status_code == 404
    assert client.get("/api/v1/complaints", headers={"X-API-Key": other_key}).json() == []

    # A regulator reads across insurers (naming the tenant) and never writes.
    desk.world.user("reg.one", Role.REGULATOR, None)
    regulator = client
    sign_in(regulator, "reg.one")
    seen = regulator.get(f"/api/v1/complaints/{number}?tenant=ACME")
    assert seen.status_code == 200 and seen.json()["actions"] == []
    assert [i["number"] for i in regulator.get("/api/v1/complaints?tenant=ACME").json()] == [number]
    assert regulator.post(f"/api/v1/complaints/{number}/accept").status_code == 403


def test_the_complaint_page_data_is_masked_and_actions_follow_the_state(client, desk: Desk) -> None:
    handler = desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)
    supervisor = desk.world.api_key(desk.tenant, Role.SUPERVISOR)
    headers = {"X-API-Key": handler}
    number = client.post("/api/v1/complaints", json=_body(), headers=headers).json()["number"]
    view = client.post(f"/api/v1/complaints/{number}/accept", json={"note": "已受理"}, headers=headers)
    assert view.status_code == 200 and view.json()["status"] == "accepted"
    view = client.post(
        f"/api/v1/complaints/{number}/complex",
        json={"reason": "需复勘", "at": local(2026, 11, 5).isoformat()},
        headers=headers,
    ).json()
    assert view["complex"] and view["deadline"]["target"] == 30
    assert "extend" not in view["actions"]  # a handler cannot approve
    as_supervisor = client.get(f"/api/v1/complaints/{number}", headers={"X-API-Key": supervisor}).json()
    assert "extend" in as_supervisor["actions"] and "complex" not in as_supervisor["actions"]

    text = client.get(f"/api/v1/complaints/{number}", headers=headers).text
    for secret in (PHONE, "110101199003071234", "qq@example.cn", "钱七"):
        assert secret not in text
    page = client.get(f"/api/v1/complaints/{number}", headers=headers).json()
    assert page["complainant"] == {
        "name": "钱*",
        "phone": "139********",
        "email": "q***@example.cn",
        "id_number": "1101**********1234",
    }
    assert [h["kind"] for h in page["history"]] == ["received", "accepted", "complex"]
    assert page["messages"][0]["recipient"] in ("139********", "q***@example.cn")

    refused = client.post(
        f"/api/v1/complaints/{number}/review-decision", json={"outcome": "upheld", "note": "x"}, headers=headers
    )
    assert refused.status_code == 409 and refused.json()["problems"][0]["field"] == "status"
    bad = client.post(f"/api/v1/complaints/{number}/note", json={}, headers=headers)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "note"


def test_queue_puts_the_nearest_deadline_first(client, desk: Desk) -> None:
    headers = {"X-API-Key": desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)}
    just_now = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    later = client.post("/api/v1/complaints", json=_body(received_at=just_now), headers=headers)
    sooner = client.post("/api/v1/complaints", json=_body(received_at="2026-11-01T10:00:00+08:00"), headers=headers)
    regulator = client.post(
        "/api/v1/complaints",
        json=_body(
            channel="regulator_12378", received_at="2026-11-09T10:00:00+08:00", category="service", sub_cause="attitude"
        ),
        headers=headers,
    )
    queue = client.get("/api/v1/complaints", headers=headers).json()
    # Due: end of 11-16 (15 days), end of 11-18 (12378: 7 working days to accept), 15 days from now.
    assert [i["number"] for i in queue] == [
        sooner.json()["number"],
        regulator.json()["number"],
        later.json()["number"],
    ]
    assert queue[1]["policy"] == "regulator_transfer_accept" and queue[1]["major"]
    only_service = client.get("/api/v1/complaints?category=service", headers=headers).json()
    assert [i["number"] for i in only_service] == [regulator.json()["number"]]
    overdue = client.get("/api/v1/complaints?overdue=true", headers=headers).json()
    assert [i["number"] for i in overdue] == [sooner.json()["number"], regulator.json()["number"]]
    assert all(i["overdue"] and i["light"] in ("yellow", "red") for i in overdue)
    bad = client.get("/api/v1/complaints?status=lost", headers=headers)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "status"


def test_volumes(client, desk: Desk) -> None:
    quality = {"X-API-Key": desk.world.api_key(desk.tenant, Role.QUALITY_MANAGER)}
    handler = {"X-API-Key": desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)}
    body = {"period": "2026-11", "policies_in_force": 1250000, "premium": "830000000.50"}
    assert client.put("/api/v1/complaints/volumes", json=body, headers=handler).status_code == 403
    saved = client.put("/api/v1/complaints/volumes", json=body, headers=quality)
    assert saved.status_code == 200, saved.text
    assert saved.json()["premium"] in ("830000000.50", "830000000.5")
    client.put("/api/v1/complaints/volumes", json={"period": "2026-11", "policies_in_force": 1260000}, headers=quality)
    rows = client.get("/api/v1/complaints/volumes", headers=handler).json()
    assert [(r["period"], r["policies_in_force"], r["org_code"]) for r in rows] == [("2026-11", 1260000, None)]
    bad = client.put("/api/v1/complaints/volumes", json={"period": "2026-13", "policies_in_force": 1}, headers=quality)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "period"
