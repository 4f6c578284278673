"""Bad input found by an outside probe answers 4xx naming the field, and nothing of it is stored:
events that go back in time or before any plausible date, identifiers outside one character set, an
unbounded tenant, a page number beyond 64 bits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from claimwatch.cases.models import CaseEvent
from claimwatch.db import TenantContext, unit_of_work
from tests.factories import at, reported, transition

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why


def _post(client, key, body):
    return client.post("/api/v1/events", json=body, headers={"X-API-Key": key})


def _event_count(tenant_id: int) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()


def _problem(response, field: str) -> str:
    assert response.status_code == 422, response.text[:500]
    problems = [p for p in response.json()["problems"] if p["field"] == field]
    assert problems, response.text[:500]
    return problems[0]["message"]


def test_an_event_earlier_than_the_claims_last_event_is_refused(client, world):
    tenant = world.tenant()
    assert _post(client, tenant.api_key, reported("r", "C-1", hours=0)).status_code == 201
    assert _post(client, tenant.api_key, transition("t1", "C-1", "accepted", hours=5)).status_code == 201
    before = _event_count(tenant.id)

    # 2026-11-02 09:00 +08:00 plus 5 hours is the last event: 06:00 UTC.
    back = _post(client, tenant.api_key, transition("t2", "C-1", "withdrawn", hours=3, reason="客户撤案"))
    message = _problem(back, "occurred_at")
    assert "2026-11-02T06:00:00Z" in message and "C-1" in message
    years_back = transition("t3", "C-1", "withdrawn", reason="客户撤案") | {"occurred_at": "2020-01-01T00:00:00+08:00"}
    assert _problem(_post(client, tenant.api_key, years_back), "occurred_at")
    assert _event_count(tenant.id) == before

    # Not only transitions: an assignment or amounts event cannot precede the last event either.
    amounts = {"event_id": "m", "claim_number": "C-1", "type": "amounts", "paid_amount": "1.00", "occurred_at": at(4)}
    assert _problem(_post(client, tenant.api_key, amounts), "occurred_at")
    # The same instant as the last event is in order.
    assert _post(client, tenant.api_key, amounts | {"occurred_at": at(5)}).status_code == 201

    claim = client.get("/api/v1/claims/C-1", headers={"X-API-Key": tenant.api_key}).json()["claim"]
    assert claim["status"] == "accepted" and claim["closed_at"] is None


def test_events_of_one_claim_in_a_batch_must_be_in_time_order(client, world):
    tenant = world.tenant()
    batch = [
        reported("r", "C-2", hours=0),
        transition("t1", "C-2", "accepted", hours=5),
        transition("t2", "C-2", "initial_review", hours=2),
    ]
    response = _post(client, tenant.api_key, {"events": batch})
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert (problem["index"], problem["field"]) == (2, "occurred_at")
    assert _event_count(tenant.id) == 0
    # Other claims' events interleave freely.
    interleaved = [reported("a", "C-A", hours=4), reported("b", "C-B", hours=1), transition("a1", "C-A", "accepted")]
    assert _post(client, tenant.api_key, {"events": interleaved[:2]}).status_code == 201
    assert _post(client, tenant.api_key, transition("b1", "C-B", "accepted", hours=2)).status_code == 201


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1900-01-01T00:00:00+08:00",
        "0001-01-01T00:00:00+08:00",  # overflowed when converted to UTC: a 500
        "0001-01-01T00:00:00-08:00",
        "0000-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        -1e12,
    ],
)
def test_implausible_dates_are_refused(client, world, occurred_at):
    tenant = world.tenant()
    response = _post(client, tenant.api_key, reported("r", "C-OLD") | {"occurred_at": occurred_at})
    _problem(response, "occurred_at")
    assert _event_count(tenant.id) == 0


def test_the_floor_itself_is_accepted(client, world):
    tenant = world.tenant()
    response = _post(client, tenant.api_key, reported("r", "C-2000") | {"occurred_at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "bad",
    [
        "UNI/../0007\n",
        "C-1\n",
        "C\x001",
        "   ",
        " C-1",
        "C\u200b1",
        "../etc",
        "-C",
        "理赔-1",
        "C 1",
        "C%2F1",
        "C:1",
    ],
)
def test_identifiers_outside_the_character_set_are_refused(client, world, bad):
    tenant = world.tenant()
    assert _problem(_post(client, tenant.api_key, reported("r", bad)), "claim_number")
    assert _problem(_post(client, tenant.api_key, reported(bad, "C-1")), "event_id")
    assert _problem(_post(client, tenant.api_key, reported("r", "C-1", policy_number=bad)), "claim.policy_number")
    assert _event_count(tenant.id) == 0


def test_identifiers_are_bounded(client, world):
    tenant = world.tenant()
    assert _problem(_post(client, tenant.api_key, reported("r", "C" * 65)), "claim_number")
    assert _problem(_post(client, tenant.api_key, reported("E" * 101, "C-1")), "event_id")
    assert _post(client, tenant.api_key, reported("E" * 100, "C" * 64, policy_number="P-1")).status_code == 201


def test_identifiers_in_the_character_set_are_taken_and_read_back(client, world):
    tenant = world.tenant()
    for number in ("CLM2026.0001_a-b", "9", "PICC202511010000001", "C" * 64):
        event = reported(f"{number}-r.1", number, policy_number="P-1")
        assert _post(client, tenant.api_key, event).status_code == 201, number
        read = client.get(f"/api/v1/claims/{number}", headers={"X-API-Key": tenant.api_key})
        assert read.status_code == 200 and read.json()["claim"]["number"] == number


def test_tenant_is_bounded_and_never_echoed_at_length(client, world):
    tenant = world.tenant()
    huge = reported("r", "C-T") | {"tenant": "X" * 1_000_000}
    response = _post(client, tenant.api_key, huge)
    assert _problem(response, "tenant")
    assert len(response.content) < 2000
    # A wrong tenant of a plausible length is still refused by name.
    wrong = _post(client, tenant.api_key, reported("r", "C-T") | {"tenant": "OTHER"})
    assert wrong.status_code == 403 and "'OTHER'" in wrong.json()["detail"]
    assert _event_count(tenant.id) == 0


def test_a_regulators_tenant_parameter_is_bounded(client, world):
    tenant = world.tenant()
    response = client.get(f"/api/v1/claims/C-1?tenant={'X' * 5000}", headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 422
    assert len(response.content) < 2000


@pytest.mark.parametrize("page", [str(2**64), str(2**63), "1000001"])
def test_claims_page_beyond_its_bound_is_422(client, world, page):
    tenant = world.tenant()
    response = client.get(f"/api/v1/claims?page={page}", headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] in ("page", "query.page")
