"""Ids past 64 bits, booleans for ids and times at the calendar's ends are bad input: 422 naming the field,
never a server error (issue 11, found by schema fuzzing)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from tests.factories import World

TOO_BIG = 2**63  # one past what a 64-bit id column holds


def _field(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return str(response.json()["problems"][0]["field"])


def test_ids_past_64_bits_are_refused(client: TestClient, world: World):
    key = {"X-API-Key": world.api_key(world.tenant(), Role.SUPERVISOR)}
    assert _field(client.post(f"/api/v1/notify/messages/{TOO_BIG}/resend", headers=key)).endswith("message_id")
    for ids in ([TOO_BIG], [1, -(2**63) - 1], [True], ["7"]):
        assert _field(client.post("/api/v1/notify/resend", json={"ids": ids}, headers=key)).startswith("ids")
    # In range: an unknown message is a 404, an empty list requeues nothing.
    assert client.post(f"/api/v1/notify/messages/{TOO_BIG - 1}/resend", headers=key).status_code == 404
    assert client.post("/api/v1/notify/resend", json={"ids": [TOO_BIG - 1]}, headers=key).json() == {"requeued": 0}


def test_proactive_rate_refuses_times_at_the_calendars_ends(client: TestClient, world: World):
    key = {"X-API-Key": world.api_key(world.tenant(), Role.SUPERVISOR)}
    for name, value in (
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "9999-12-31T23:59:59-12:00"),
        ("since", "1899-12-31T23:59:59Z"),
    ):
        response = client.get("/api/v1/notify/kpi/proactive-rate", params={name: value}, headers=key)
        assert _field(response) == name
    ok = client.get("/api/v1/notify/kpi/proactive-rate", params={"since": "2026-01-01T00:00:00+08:00"}, headers=key)
    assert ok.status_code == 200, ok.text
