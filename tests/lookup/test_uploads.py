"""Uploads of missing documents through a lookup session: marked received, clocks resumed only when
everything awaited is in, the virus-scan hook, and nothing outside the session's claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.lookup import service
from claimwatch.materials.models import MaterialsDocument
from tests.lookup.conftest import LAST4, PDF, bearer, key, lookup, new_claim


def _states(client, tenant, number):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/claims/{number}/clocks", headers=key(tenant))
    assert response.status_code == 200, response.text
    return {clock["policy"]: clock["state"] for clock in response.json()}


def _noticed_claim(client, tenant, number):  # type: ignore[no-untyped-def]
    """A claim whose one-time notice asks for every item of a theft claim (the timeliness clock pauses)."""
    new_claim(client, tenant, number, waiting=False)
    profile = {"claim_type": "theft", "facts": []}
    assert (
        client.put(f"/api/v1/claims/{number}/materials/profile", json=profile, headers=key(tenant)).status_code == 200
    )
    notice = client.post(f"/api/v1/claims/{number}/materials/notices", headers=key(tenant))
    assert notice.status_code == 201, notice.text
    return [item["code"] for item in notice.json()["items"]]


def _upload(client, token, item_code, content=PDF, content_type="application/pdf"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/lookup/claim/documents",
        data={"item_code": item_code},
        files={"file": ("扫描 13812345678.pdf", content, content_type)},
        headers=bearer(token),
    )


def test_upload_marks_items_received_and_resumes_only_when_complete(client, world):
    acme = world.tenant("ACME")
    codes = _noticed_claim(client, acme, "CLM-1")
    assert len(codes) > 1
    # The art. 23 decision clock waits for complete materials (issue 15); the timeliness clock pauses.
    assert _states(client, acme, "CLM-1")["timeliness_small"] == "paused"
    assert "claim_decision" not in _states(client, acme, "CLM-1")
    body = lookup(client, "ACME", "CLM-1", phone_last4=LAST4).json()
    token = body["token"]
    assert [item["code"] for item in body["claim"]["materials"]["missing"]] == codes

    first = _upload(client, token, codes[0])
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "stored"
    assert [item["code"] for item in first.json()["missing"]] == codes[1:]
    assert "claim_decision" not in _states(client, acme, "CLM-1")  # still waiting for the rest
    again = _upload(client, token, codes[0])
    assert again.status_code == 200 and again.json()["status"] == "duplicate"

    view = client.get("/api/v1/lookup/claim", headers=bearer(token)).json()
    assert [item["code"] for item in view["materials"]["received"]] == [codes[0]]
    assert [item["code"] for item in view["materials"]["missing"]] == codes[1:]

    for index, code in enumerate(codes[1:]):
        assert _upload(client, token, code, PDF + str(index).encode()).status_code == 201
    assert _states(client, acme, "CLM-1")["claim_decision"] == "running"
    assert client.get("/api/v1/lookup/claim", headers=bearer(token)).json()["materials"]["missing"] == []

    staff = client.get("/api/v1/claims/CLM-1/materials", headers=key(acme)).json()
    assert {d["uploaded_by"] for d in staff["documents"]} == {service.ACTOR}
    assert all("13812345678" not in d["filename"] for d in staff["documents"])


def test_upload_limits_come_from_the_materials_rules(client, world, monkeypatch):
    acme = world.tenant("ACME")
    codes = _noticed_claim(client, acme, "CLM-1")
    token = lookup(client, "ACME", "CLM-1", phone_last4=LAST4).json()["token"]
    assert _upload(client, token, codes[0], b"MZ\x90\x00", "application/x-msdownload").status_code == 415
    assert _upload(client, token, codes[0], b"not a pdf").status_code == 415
    assert _upload(client, token, "no_such_item").status_code == 422
    monkeypatch.setenv("CLAIMWATCH_MAX_DOCUMENT_BYTES", "64")
    get_settings.cache_clear()
    assert _upload(client, token, codes[0], PDF + bytes(100)).status_code == 413
    assert client.get("/api/v1/lookup/claim", headers=bearer(token)).json()["materials"]["received"] == []


def test_a_scan_hook_that_rejects_gives_a_clear_error_and_stores_nothing(client, world, lookup_settings):
    acme = world.tenant("ACME")
    codes = _noticed_claim(client, acme, "CLM-1")
    token = lookup(client, "ACME", "CLM-1", phone_last4=LAST4).json()["token"]
    seen: list[bytes] = []

    def eicar(path: Path) -> None:
        seen.append(path.read_bytes())
        raise service.UploadRejected()

    service.register_scan_hook(eicar)
    try:
        response = _upload(client, token, codes[0])
    finally:
        service.unregister_scan_hook(eicar)
    assert response.status_code == 422
    assert response.json()["problems"] == [{"field": "file", "message": "the file was refused by the virus scan"}]
    assert seen == [PDF]  # the hook saw the staged file before it was stored
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert session.execute(select(MaterialsDocument)).first() is None
    stored = [p for p in lookup_settings.rglob("*") if p.is_file()]
    assert stored == []  # the staged copy is gone too
    assert _upload(client, token, codes[0]).status_code == 201  # without the hook it is accepted


@pytest.mark.parametrize("command", ["false", "/nonexistent/scanner"])
def test_a_configured_scan_command_that_fails_refuses_the_file(client, world, monkeypatch, command):
    acme = world.tenant("ACME")
    codes = _noticed_claim(client, acme, "CLM-1")
    token = lookup(client, "ACME", "CLM-1", phone_last4=LAST4).json()["token"]
    monkeypatch.setenv("CLAIMWATCH_UPLOAD_SCAN_COMMAND", command)
    get_settings.cache_clear()
    response = _upload(client, token, codes[0])
    assert response.status_code == 422
    assert "virus scan" in response.json()["problems"][0]["message"]
    monkeypatch.setenv("CLAIMWATCH_UPLOAD_SCAN_COMMAND", "true")
    get_settings.cache_clear()
    assert _upload(client, token, codes[0]).status_code == 201


def test_uploads_land_on_the_sessions_claim_only(client, world):
    acme = world.tenant("ACME")
    bbb = world.tenant("BBB")
    codes = _noticed_claim(client, acme, "CLM-1")
    _noticed_claim(client, acme, "CLM-2")
    _noticed_claim(client, bbb, "CLM-1")
    token = lookup(client, "ACME", "CLM-1", phone_last4=LAST4).json()["token"]
    assert _upload(client, token, codes[0]).status_code == 201
    assert client.get("/api/v1/claims/CLM-2/materials", headers=key(acme)).json()["documents"] == []
    assert client.get("/api/v1/claims/CLM-1/materials", headers=key(bbb)).json()["documents"] == []
    assert len(client.get("/api/v1/claims/CLM-1/materials", headers=key(acme)).json()["documents"]) == 1
    assert _upload(client, "lk1.1.1.1.forged", codes[0]).status_code == 401
