"""With the real SLA clocks: the notice pauses the timeliness clock and meets the one-time-notice clock; the
upload that completes the notice resumes it and starts the claim-decision clock (保险法 art. 23 runs from
complete materials, issue 15)."""

from __future__ import annotations

from tests.materials.conftest import PDF, key, new_claim, upload


def _states(client, headers, number):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/claims/{number}/clocks", headers=headers)
    assert response.status_code == 200, response.text
    return {clock["policy"]: clock["state"] for clock in response.json()}


def test_notice_pauses_and_last_document_resumes_the_decision_clock(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    assert "claim_decision" not in _states(client, key(tenant), number)  # not at the report
    profile = {"claim_type": "theft", "facts": []}
    assert (
        client.put(f"/api/v1/claims/{number}/materials/profile", json=profile, headers=key(tenant)).status_code == 200
    )
    notice = client.post(f"/api/v1/claims/{number}/materials/notices", headers=key(tenant))
    assert notice.status_code == 201
    states = _states(client, key(tenant), number)
    assert states["timeliness_small"] == "paused" and "claim_decision" not in states
    assert states["materials_notice"] == "stopped"  # the notice went out
    codes = [item["code"] for item in notice.json()["items"]]
    for code in codes[:-1]:
        assert upload(client, key(tenant), number, code, PDF + code.encode()).status_code == 201
    assert "claim_decision" not in _states(client, key(tenant), number)
    assert upload(client, key(tenant), number, codes[-1], PDF + b"last").status_code == 201
    states = _states(client, key(tenant), number)
    assert states["claim_decision"] == "running" and states["timeliness_small"] == "running"
