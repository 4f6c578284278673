"""Ids past 64 bits, filing filters at the calendar's ends, and a boolean as an extension are bad input: 422
naming the field, never a server error or a silent 1 (issue 11)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from tests.factories import World


def _field(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return str(response.json()["problems"][0]["field"])


def test_escalation_ids_past_64_bits_are_refused(client: TestClient, world: World):
    key = {"X-API-Key": world.api_key(world.tenant(), Role.SUPERVISOR)}
    assert _field(client.post(f"/api/v1/sla/escalations/{2**63}/acknowledge", json={}, headers=key)).endswith(
        "escalation_id"
    )
    assert client.post(f"/api/v1/sla/escalations/{2**63 - 1}/acknowledge", json={}, headers=key).status_code == 404


def test_filings_refuse_times_at_the_calendars_ends(client: TestClient, world: World):
    key = {"X-API-Key": world.api_key(world.tenant(), Role.SUPERVISOR)}
    for name, value in (
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "9999-12-31T23:59:59-12:00"),
        ("since", "2026-01-01T00:00:00"),  # no offset
    ):
        assert _field(client.get("/api/v1/sla/filings", params={name: value}, headers=key)) == name
    assert client.get("/api/v1/sla/filings", params={"since": "2026-01-01T00:00:00Z"}, headers=key).status_code == 200


def test_an_extension_is_a_number_not_a_boolean(client: TestClient, world: World):
    key = {"X-API-Key": world.api_key(world.tenant(), Role.SUPERVISOR)}
    for amount in (True, "2"):
        response = client.post(
            "/api/v1/claims/CLM-1/clocks/small_claim_30d/extend", json={"amount": amount, "reason": "x"}, headers=key
        )
        assert _field(response) == "amount"
