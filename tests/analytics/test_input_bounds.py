"""Process analytics filters at the calendar's ends are bad input: 422 naming the field, never a server error
(issue 11, found by schema fuzzing)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from tests.factories import World


@pytest.mark.parametrize("path", ["/api/v1/analytics/process", "/api/v1/analytics/process.xes"])
def test_times_at_the_calendars_ends_are_refused(client: TestClient, world: World, path: str):
    key = {"X-API-Key": world.api_key(world.tenant(), Role.QUALITY_MANAGER)}
    for name, value in (("since", "0001-01-01T00:00:00+14:00"), ("until", "9999-12-31T23:59:59-12:00")):
        response = client.get(path, params={name: value}, headers=key)
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"] == name
    assert client.get(path, params={"since": "2026-01-01T00:00:00+08:00"}, headers=key).status_code == 200
