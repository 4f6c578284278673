"""With the real SLA clocks: the notice pauses the claim-decision clock and meets the one-time-notice
clock; the upload that completes the notice resumes the claim-decision clock."""

from __future__ import annotations

from tests.materials.conftest import PDF, key, new_claim, upload


def _states(client, headers, number):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/claims/{number}/clocks", headers=headers)
    assert response.status_code == 200, response.text
    return {clock["policy"]: clock["state"] for clock in response.json()}


def test_notice_pauses_and_last_document_resumes_the_decision_clock(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    assert _states(client, key(tenant), number)["claim_decision"] == "running"
    profile = {"claim_type": "theft", "facts": []}
    assert (
        client.put(f"/api/v1/claims/{number}/materials/profile", json=profile, headers=key(tenant)).status_code == 200
    )
    notice = client.post(f"/api/v1/claims/{number}/materials/notices", headers=key(tenant))
    assert notice.status_code == 201
    states = _states(client, key(tenant), number)
    assert states["claim_decision"] == "paused"
    assert states["materials_notice"] == "stopped"  # the notice went out
    codes = [item["code"] for item in notice.json()["items"]]
    for code in codes[:-1]:
        assert upload(client, key(tenant), number, code, PDF + code.encode()).status_code == 201
    assert _states(client, key(tenant), number)["claim_decision"] == "paused"
    assert upload(client, key(tenant), number, codes[-1], PDF + b"last").status_code == 201
    assert _states(client, key(tenant), number)["claim_decision"] == "running"
