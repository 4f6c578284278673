"""The staff register API (issue 18, h1): list with filters, record (201, audited), change and leave, licences
(add: an expiry before the issue 422 naming ``expires_on``, a number twice 409; revoke with a reason), the
expiring list, the CSV import (422 naming each reject), and isolation: another insurer's person is unknown,
an adjuster may not read the register, the integration key may write but not read it."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import World, local_today
from tests.people.staff_world import StaffWorld, build
from tests.snapshots import Snapshot


@pytest.fixture
def sw(db_snapshot: Snapshot, world: World) -> StaffWorld:
    return db_snapshot("people.staff", lambda: build(world))


def test_the_register_through_the_api(sw: StaffWorld):
    client = TestClient(shared_app())
    qm = sw.headers("qm")
    listed = client.get("/api/v1/people/staff", params={"kind": "agent"}, headers=qm)
    assert listed.status_code == 200
    assert {r["code"]: r["licence_state"] for r in listed.json()} == {
        "A001": "valid", "A002": "expiring", "A003": "expired",
    }  # fmt: skip
    org = client.get("/api/v1/people/staff", params={"org": "ACME-B2", "licence": "none"}, headers=qm).json()
    assert [r["code"] for r in org] == ["E002", "E003"]
    assert client.get("/api/v1/people/staff", params={"licence": "soon"}, headers=qm).status_code == 422

    body = {
        "code": "A500",
        "name": "黄新",
        "kind": "agent",
        "org_unit": "ACME-B1",
        "hired_on": local_today().isoformat(),
    }
    created = client.post("/api/v1/people/staff", json=body, headers=sw.headers("integration"))
    assert created.status_code == 201 and created.json()["licence_state"] == "none"
    assert client.post("/api/v1/people/staff", json=body, headers=qm).status_code == 409
    assert client.get("/api/v1/people/staff", headers=sw.headers("integration")).status_code == 403

    later = (local_today() + dt.timedelta(days=365)).isoformat()
    licence = {"kind": "sales", "number": "SL-500", "issued_on": later, "expires_on": local_today().isoformat()}
    backwards = client.post("/api/v1/people/staff/A500/licences", json=licence, headers=qm)
    assert backwards.status_code == 422 and backwards.json()["problems"][0]["field"] == "expires_on"
    licence |= {"issued_on": local_today().isoformat(), "expires_on": later}
    added = client.post("/api/v1/people/staff/A500/licences", json=licence, headers=qm)
    assert added.status_code == 201 and added.json()["state"] == "valid"
    assert client.post("/api/v1/people/staff/A500/licences", json=licence, headers=qm).status_code == 409
    revoked = client.post(
        f"/api/v1/people/staff/A500/licences/{added.json()['id']}/revoke", json={"reason": "资格撤销"}, headers=qm
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.get("/api/v1/people/staff/A500/licences", headers=qm).json()[0]["revoke_reason"] == "资格撤销"

    left = client.patch("/api/v1/people/staff/A500", json={"left_on": local_today().isoformat()}, headers=qm)
    assert left.status_code == 200 and left.json()["status"] == "left"
    expiring = client.get("/api/v1/people/licences", params={"expiring": 30}, headers=qm).json()
    assert [(r["staff_code"], r["state"]) for r in expiring] == [("A003", "expired"), ("A002", "expiring")]

    rejected = client.post(
        "/api/v1/people/staff-import",
        content="code,name,kind,hired_on\nZ1,某,robot,2026-01-01\n".encode(),
        headers=qm | {"Content-Type": "text/csv"},
    )
    assert rejected.status_code == 422 and rejected.json()["problems"][0] | {"message": ""} == {
        "field": "kind", "message": "", "line": 2, "column": "kind",
    }  # fmt: skip

    # Isolation: BBB's E001 is its own; ACME's A001 is unknown to BBB; an adjuster reads nothing of it.
    assert client.get("/api/v1/people/staff/E001", headers=sw.headers("bbb_qm")).json()["name"] == "另一人"
    assert client.get("/api/v1/people/staff/A001", headers=sw.headers("bbb_qm")).status_code == 404
    assert (
        client.patch("/api/v1/people/staff/A001", json={"name": "x"}, headers=sw.headers("bbb_qm")).status_code == 404
    )
    assert client.get("/api/v1/people/staff", headers=sw.headers("adj")).status_code == 403
    assert client.post("/api/v1/people/staff", json=body, headers=sw.headers("adj")).status_code == 403
