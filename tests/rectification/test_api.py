"""The JSON API: the list by deadline with filters and scope, one rectification, the transitions with their
refusals (403 role/owner, 404 other tenant or outside the subtree, 409 naming the state, 422 field), and
evidence uploads with the hash in the audit chain."""

from __future__ import annotations

import hashlib
import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.web.security import CSRF_HEADER
from tests.apps import shared_app
from tests.rectification.helpers import Office, local
from tests.web.conftest import csrf_from, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _as(office: Office, name: str, app=None) -> TestClient:
    client = TestClient(app or shared_app())
    sign_in(client, office.username(name))
    # A write signed in by the session cookie carries the page's CSRF token (web.security.ApiGuard).
    client.headers[CSRF_HEADER] = csrf_from(client.get("/rectifications").text)
    return client


def test_list_detail_transitions_and_refusals(office: Office) -> None:
    overdue = office.open(source_id=1, at=local(2026, 8, 3, 10))
    fresh = office.open(source_id=2, at=local(2026, 12, 1, 10), severity="severe")
    elsewhere = office.open(source_id=3, owner_user_id=office.users["other"], owner_org_unit_id=office.b2)
    app = shared_app()
    owner, qm, other = _as(office, "owner", app), _as(office, "qm", app), _as(office, "other", app)

    listed = qm.get("/api/v1/rectifications")
    assert listed.status_code == 200, listed.text
    # Overdue first; the QM sees every unit's.
    assert [i["id"] for i in listed.json()] == [overdue, elsewhere, fresh]
    assert listed.json()[0]["light"] == "red" and listed.json()[0]["overdue"] is True
    assert [i["id"] for i in owner.get("/api/v1/rectifications").json()] == [overdue, fresh]
    assert [i["id"] for i in qm.get("/api/v1/rectifications?severity=severe").json()] == [fresh]
    bad = qm.get("/api/v1/rectifications?status=nonsense")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "status"

    assert other.get(f"/api/v1/rectifications/{overdue}").status_code == 404
    shown = owner.get(f"/api/v1/rectifications/{overdue}").json()
    assert shown["actions"] == ["plan"] and shown["source"]["url"] == "/inspections/findings/1"
    assert {c["policy"]: c["light"] for c in shown["clocks"]} == {
        "rectification_plan": "red",
        "rectification_acceptance": "red",
    }

    refused = qm.post(f"/api/v1/rectifications/{overdue}/accept", json={})
    assert refused.status_code == 409 and "is open" in refused.json()["detail"]
    assert refused.json()["problems"][0]["field"] == "status"
    assert owner.post(f"/api/v1/rectifications/{overdue}/accept", json={}).status_code == 403
    not_owner = qm.post(f"/api/v1/rectifications/{overdue}/plan", json={"plan": "x"})
    assert not_owner.status_code == 403 and not_owner.json()["problems"][0]["field"] == "owner"
    empty = owner.post(f"/api/v1/rectifications/{overdue}/plan", json={"plan": ""})
    assert empty.status_code == 422 and empty.json()["problems"][0]["field"] == "plan"

    planned = owner.post(f"/api/v1/rectifications/{overdue}/plan", json={"plan": "整改方案"})
    assert planned.status_code == 200 and planned.json()["status"] == "plan_submitted"
    assert planned.json()["plan_outcome"] == "breached"
    assert owner.post(f"/api/v1/rectifications/{overdue}/progress", json={"note": "进行中"}).status_code == 200
    assert owner.post(f"/api/v1/rectifications/{overdue}/submit", json={"note": "完成"}).status_code == 200
    back = qm.post(f"/api/v1/rectifications/{overdue}/send-back", json={"reason": "证据不足"})
    assert back.json()["status"] == "sent_back" and back.json()["sent_back_count"] == 1
    assert owner.post(f"/api/v1/rectifications/{overdue}/progress", json={"note": "补充"}).json()["status"] == (
        "in_progress"
    )

    # Another insurer's rectification does not exist for this one.
    beta = Office.create(office.world, "BETA")
    stranger = _as(beta, "qm", app)
    assert stranger.get(f"/api/v1/rectifications/{overdue}").status_code == 404
    assert stranger.get("/api/v1/rectifications").json() == []


def test_evidence_upload_stores_by_hash_and_audits_it(office: Office) -> None:
    rid = office.open()
    app = shared_app()
    owner, other = _as(office, "owner", app), _as(office, "other", app)
    files = {"file": ("签到表.png", PNG, "image/png")}
    stored = owner.post(f"/api/v1/rectifications/{rid}/evidence", files=files, data={"note": "培训签到"})
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["step"] == "plan" and body["sha256"] == hashlib.sha256(PNG).hexdigest()
    again = owner.post(f"/api/v1/rectifications/{rid}/evidence", files=files)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert owner.get(body["url"]).content == PNG
    wrong = owner.post(f"/api/v1/rectifications/{rid}/evidence", files={"file": ("x.pdf", PNG, "application/pdf")})
    assert wrong.status_code in (415, 422) and wrong.json()["problems"][0]["field"] == "file"
    step = owner.post(f"/api/v1/rectifications/{rid}/evidence", files=files, data={"step": "later"})
    assert step.status_code == 422 and step.json()["problems"][0]["field"] == "step"
    assert other.post(f"/api/v1/rectifications/{rid}/evidence", files=files).status_code == 404
    with office.session() as session:
        entries = list(
            session.execute(
                select(AuditEntry).where(AuditEntry.kind == "rectification.evidence").order_by(AuditEntry.seq)
            ).scalars()
        )
    assert len(entries) == 1 and json.loads(entries[0].payload or "{}")["sha256"] == body["sha256"]
