"""POST /api/v1/events: idempotent, all-or-nothing, and every bad input named with a 4xx."""

from __future__ import annotations

from sqlalchemy import func, select, text

from claimwatch import db
from claimwatch.audit.models import AuditHead
from claimwatch.auth.models import Role
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from tests.factories import HAPPY_PATH, at, reported, transition


def _counts(tenant_id: int) -> tuple[int, int, int]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        claims = session.execute(select(func.count()).select_from(Claim)).scalar_one()
        events = session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()
        head = session.execute(select(AuditHead.seq).where(AuditHead.tenant_id == tenant_id)).scalar_one()
    return claims, events, head


def _post(client, key, body):
    return client.post("/api/v1/events", json=body, headers={"X-API-Key": key})


def test_event_applied_once_and_acknowledged_again(client, world):
    tenant = world.tenant()
    event = reported("e-1", "CLM-1", org_code=tenant.branch_code)
    first = _post(client, tenant.api_key, event)
    assert first.status_code == 201
    assert first.json()["status"] == "applied"
    before = _counts(tenant.id)
    again = _post(client, tenant.api_key, event)
    assert again.status_code == 200
    assert again.json() == first.json() | {"status": "duplicate"}
    assert _counts(tenant.id) == before


def test_reused_event_id_with_other_content_is_a_conflict(client, world):
    tenant = world.tenant()
    assert _post(client, tenant.api_key, reported("e-1", "CLM-1")).status_code == 201
    before = _counts(tenant.id)
    changed = reported("e-1", "CLM-1", amount="9999.00")
    response = _post(client, tenant.api_key, changed)
    assert response.status_code == 409
    assert response.json()["problems"][0]["field"] == "event_id"
    assert "other content" in response.json()["detail"]
    assert _counts(tenant.id) == before


def test_whole_lifecycle_moves_status_and_milestones(client, world):
    tenant = world.tenant()
    events = [reported("r", "CLM-7")] + [
        transition(f"t{i}", "CLM-7", status, hours=i + 1) for i, status in enumerate(HAPPY_PATH)
    ]
    response = _post(client, tenant.api_key, {"events": events})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["applied"] == len(events)
    seqs = [r["audit_seq"] for r in body["results"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    claim = client.get("/api/v1/claims/CLM-7", headers={"X-API-Key": tenant.api_key}).json()
    assert claim["claim"]["status"] == "closed"
    assert claim["claim"]["status_label"] == "结案"
    assert claim["claim"]["closed_at"] == "2026-11-02T09:00:00Z"  # 9 hours after 09:00 +08:00
    assert [e["to_status"] for e in claim["timeline"]] == ["reported", *HAPPY_PATH]
    assert claim["timeline"][1]["from_status"] == "reported"


def test_reopen_needs_reason_and_is_counted(client, world):
    tenant = world.tenant()
    steps = [reported("r", "C")] + [transition(f"t{i}", "C", s, hours=i + 1) for i, s in enumerate(HAPPY_PATH)]
    assert _post(client, tenant.api_key, {"events": steps}).status_code == 201
    no_reason = _post(client, tenant.api_key, transition("reopen-1", "C", "reopened", hours=20))
    assert no_reason.status_code == 422
    assert no_reason.json()["problems"][0]["field"] == "reason"
    assert "requires a reason" in no_reason.json()["problems"][0]["message"]
    ok = _post(client, tenant.api_key, transition("reopen-2", "C", "reopened", hours=20, reason="客户补充发票"))
    assert ok.status_code == 201
    claim = client.get("/api/v1/claims/C", headers={"X-API-Key": tenant.api_key}).json()["claim"]
    assert claim["reopen_count"] == 1
    assert claim["closed_at"] is None


def test_invalid_transition_names_states_and_writes_nothing(client, world):
    tenant = world.tenant()
    assert _post(client, tenant.api_key, reported("r", "CLM-2")).status_code == 201
    before = _counts(tenant.id)
    batch = {"events": [transition("ok", "CLM-2", "accepted"), transition("bad", "CLM-2", "payment", hours=2)]}
    response = _post(client, tenant.api_key, batch)
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem == {
        "index": 1,
        "event_id": "bad",
        "field": "to_status",
        "message": "invalid transition accepted -> payment for claim CLM-2 (motor); "
        "allowed from accepted: initial_review, withdrawn",
    }
    # the valid first event of the batch was not written either
    assert _counts(tenant.id) == before


def test_unknown_claim_is_404(client, world):
    tenant = world.tenant()
    response = _post(client, tenant.api_key, transition("t", "NOPE", "accepted"))
    assert response.status_code == 404
    assert response.json()["problems"][0]["message"] == "unknown claim NOPE"


def test_other_tenants_claim_is_invisible_and_tenant_mismatch_is_403(client, world):
    acme = world.tenant("ACME")
    other = world.tenant("OTHER", region="310000")
    assert _post(client, acme.api_key, reported("r", "SHARED-1")).status_code == 201
    # the other tenant cannot move ACME's claim: for it the claim does not exist
    response = _post(client, other.api_key, transition("t", "SHARED-1", "accepted"))
    assert response.status_code == 404
    assert client.get("/api/v1/claims/SHARED-1", headers={"X-API-Key": other.api_key}).status_code == 404
    assert client.get("/api/v1/claims", headers={"X-API-Key": other.api_key}).json()["total"] == 0
    # an event addressed to another tenant is refused by name
    wrong = reported("r2", "X-2") | {"tenant": "ACME"}
    response = _post(client, other.api_key, wrong)
    assert response.status_code == 403
    assert "event is for tenant 'ACME' but the caller belongs to 'OTHER'" in response.json()["detail"]
    # the same claim number may exist in both tenants independently
    assert _post(client, other.api_key, reported("r", "SHARED-1")).status_code == 201


def test_malformed_bodies_get_400_or_422_naming_the_field(client, world):
    tenant = world.tenant()
    headers = {"X-API-Key": tenant.api_key, "content-type": "application/json"}
    broken = client.post("/api/v1/events", content=b'{"event_id": ', headers=headers)
    assert broken.status_code == 400
    assert broken.json()["detail"] == "malformed JSON body"
    not_object = client.post("/api/v1/events", content=b"[1, 2]", headers=headers)
    assert not_object.status_code == 400
    assert "one event or" in not_object.json()["detail"]

    missing = reported("m", "C-M")
    del missing["occurred_at"]
    response = _post(client, tenant.api_key, missing)
    assert response.status_code == 422
    assert response.json()["problems"] == [{"index": None, "field": "occurred_at", "message": "Field required"}]

    naive = reported("n", "C-N") | {"occurred_at": "2026-11-02T09:00:00"}
    response = _post(client, tenant.api_key, naive)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "occurred_at"
    assert "timezone" in response.json()["problems"][0]["message"]

    future = reported("f", "C-F") | {"occurred_at": "2099-01-01T00:00:00+08:00"}
    response = _post(client, tenant.api_key, future)
    assert response.status_code == 422
    assert "occurred_at is in the future" in response.json()["problems"][0]["message"]

    in_batch = {"events": [reported("a", "C-A"), reported("b", "C-B") | {"type": "exploded"}]}
    response = _post(client, tenant.api_key, in_batch)
    assert response.status_code == 422
    assert response.json()["problems"][0]["index"] == 1
    assert response.json()["problems"][0]["field"] == "type"

    extra = reported("x", "C-X") | {"colour": "red"}
    response = _post(client, tenant.api_key, extra)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "colour"
    assert _counts(tenant.id)[1] == 0


def test_bad_claim_details_are_named(client, world):
    tenant = world.tenant()
    cases = [
        (reported("1", "C1", line="spaceship"), "claim.line", "unknown line of business 'spaceship'"),
        (reported("2", "C2", org_code="NOWHERE"), "claim.org_code", "unknown org unit 'NOWHERE'"),
        (reported("3", "C3", region_code="999999"), "claim.region_code", "unknown region code '999999'"),
    ]
    for event, field, message in cases:
        response = _post(client, tenant.api_key, event)
        assert response.status_code == 422, field
        assert response.json()["problems"][0]["field"] == field
        assert message in response.json()["problems"][0]["message"]
    response = _post(client, tenant.api_key, reported("4", "C4", amount="-5"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "claim.reported_amount"
    assert _post(client, tenant.api_key, reported("5", "C5")).status_code == 201
    again = _post(client, tenant.api_key, reported("6", "C5"))
    assert again.status_code == 409
    assert again.json()["problems"][0]["message"] == "claim C5 was already reported"


def test_oversize_batch_is_413_and_writes_nothing(client, world, monkeypatch):
    tenant = world.tenant()
    monkeypatch.setenv("CLAIMWATCH_MAX_BATCH_EVENTS", "5")
    get_settings.cache_clear()
    try:
        events = [reported(f"e{i}", f"C{i}") for i in range(6)]
        response = _post(client, tenant.api_key, {"events": events})
        assert response.status_code == 413
        assert response.json()["problems"][0]["message"] == "batch has 6 events; the limit is 5"
        assert _post(client, tenant.api_key, {"events": events[:5]}).status_code == 201
    finally:
        get_settings.cache_clear()
    assert _counts(tenant.id)[0] == 5


def test_roles_are_enforced(client, world):
    tenant = world.tenant()
    assert client.post("/api/v1/events", json=reported("x", "C")).status_code == 401
    assert _post(client, "cw_deadbeef_not-a-key", reported("x", "C")).status_code == 401
    viewer = world.api_key(tenant, Role.QUALITY_MANAGER)
    response = _post(client, viewer, reported("x", "C"))
    assert response.status_code == 403
    assert "may not ingest events" in response.json()["detail"]

    adjuster = world.api_key(tenant, Role.ADJUSTER)
    steps = [reported("r", "C")] + [transition(f"t{i}", "C", s, hours=i + 1) for i, s in enumerate(HAPPY_PATH[:6])]
    assert _post(client, adjuster, {"events": steps}).status_code == 201
    # approval -> payment is for supervisors (and the core system), not for an adjuster
    response = _post(client, adjuster, transition("pay", "C", "payment", hours=10))
    assert response.status_code == 403
    assert response.json()["problems"][0]["message"] == "role 'adjuster' may not move a claim approval -> payment"
    assert _post(client, tenant.api_key, transition("pay", "C", "payment", hours=10)).status_code == 201


def test_assignment_and_amounts(client, world):
    tenant = world.tenant()
    world.user("li.adjuster", Role.ADJUSTER, tenant)
    other = world.tenant("OTHER")
    world.user("stranger", Role.ADJUSTER, other)
    assert _post(client, tenant.api_key, reported("r", "C")).status_code == 201
    assigned = {
        "event_id": "a",
        "claim_number": "C",
        "type": "assigned",
        "assignee": "li.adjuster",
        "occurred_at": at(1),
    }
    assert _post(client, tenant.api_key, assigned).status_code == 201
    foreign = assigned | {"event_id": "a2", "assignee": "stranger"}
    response = _post(client, tenant.api_key, foreign)
    assert response.status_code == 422
    assert response.json()["problems"][0]["message"] == "no user 'stranger' in this tenant"
    amounts = {
        "event_id": "m",
        "claim_number": "C",
        "type": "amounts",
        "assessed_amount": "2888.80",
        "paid_amount": "2888.8",
        "occurred_at": at(2),
    }
    assert _post(client, tenant.api_key, amounts).status_code == 201
    claim = client.get("/api/v1/claims/C", headers={"X-API-Key": tenant.api_key}).json()["claim"]
    assert claim["assignee"] == "li.adjuster"
    assert claim["assessed_amount"] == "2888.80"
    assert claim["paid_amount"] == "2888.80"
    empty = {"event_id": "m2", "claim_number": "C", "type": "amounts", "occurred_at": at(3)}
    assert _post(client, tenant.api_key, empty).status_code == 422


def test_personal_data_encrypted_at_rest_and_masked_on_output(client, world):
    tenant = world.tenant()
    assert _post(client, tenant.api_key, reported("r", "C-PII")).status_code == 201
    with db.get_engine().connect() as conn:
        row = conn.execute(text("select * from claims where number = 'C-PII'")).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    assert "13812345678" not in stored
    assert "110101199003071234" not in stored
    assert row["claimant_phone_enc"].startswith("v1:")
    body = client.get("/api/v1/claims/C-PII", headers={"X-API-Key": tenant.api_key}).text
    assert "13812345678" not in body and "110101199003071234" not in body
    claim = client.get("/api/v1/claims/C-PII", headers={"X-API-Key": tenant.api_key}).json()["claim"]
    assert claim["claimant_phone"] == "138********"
    assert claim["claimant_id_number"] == "1101**********1234"
    assert claim["claimant_name"] == "张**"


def test_event_time_and_received_time_are_both_kept(client, world):
    tenant = world.tenant()
    assert _post(client, tenant.api_key, reported("r", "C", hours=-48)).status_code == 201
    timeline = client.get("/api/v1/claims/C", headers={"X-API-Key": tenant.api_key}).json()["timeline"]
    assert timeline[0]["occurred_at"] == "2026-10-31T01:00:00Z"
    assert timeline[0]["received_at"] > timeline[0]["occurred_at"]
    assert timeline[0]["received_at"].endswith("Z")


def test_claims_list_filters(client, world):
    tenant = world.tenant()
    events = [reported("r1", "M-1"), reported("r2", "H-1", line="medical"), transition("t1", "M-1", "accepted")]
    assert _post(client, tenant.api_key, {"events": events}).status_code == 201
    headers = {"X-API-Key": tenant.api_key}
    assert client.get("/api/v1/claims?line=medical", headers=headers).json()["items"][0]["number"] == "H-1"
    accepted = client.get("/api/v1/claims?status=accepted", headers=headers).json()
    assert [c["number"] for c in accepted["items"]] == ["M-1"]
    english = client.get("/api/v1/claims?status=accepted&lang=en", headers=headers).json()
    assert english["items"][0]["status_label"] == "Accepted"
    assert client.get("/api/v1/claims?region=310000", headers=headers).json()["total"] == 0


def test_openapi_is_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/events" in spec["paths"]
    assert "413" in spec["paths"]["/api/v1/events"]["post"]["responses"]
