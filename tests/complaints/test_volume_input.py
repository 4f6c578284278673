"""Volumes are strict (issue 11): an empty org code was a server error, ``false`` was taken as 0 policies and
``"12"`` as 12; each is now a 422 naming the field, and nothing is recorded."""

from __future__ import annotations

import pytest

from claimwatch.auth.models import Role
from tests.complaints.helpers import Desk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2026-11", "org_code": "", "policies_in_force": 1}, "org_code"),
        ({"period": "2026-11", "policies_in_force": False}, "policies_in_force"),
        ({"period": "2026-11", "policies_in_force": True}, "policies_in_force"),
        ({"period": "2026-11", "policies_in_force": "12"}, "policies_in_force"),
        ({"period": "2026-11", "policies_in_force": 12.0}, "policies_in_force"),
        ({"period": "2026-11", "policies_in_force": 2**63}, "policies_in_force"),
        ({"period": "2026-11", "premium": True}, "premium"),
    ],
)
def test_bad_volumes_are_refused_naming_the_field(client, desk: Desk, body: dict, field: str) -> None:  # type: ignore[type-arg]
    quality = {"X-API-Key": desk.world.api_key(desk.tenant, Role.QUALITY_MANAGER)}
    refused = client.put("/api/v1/complaints/volumes", json=body, headers=quality)
    assert refused.status_code == 422, refused.text
    assert [p["field"] for p in refused.json()["problems"]] == [field]
    assert client.get("/api/v1/complaints/volumes", headers=quality).json() == []
