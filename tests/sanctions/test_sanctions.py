"""Sanctions on both databases: proposing within the catalogue's ranges, a quality manager's decision, a
suspension that really refuses the adjuster's claim work until its end date, the repeat rule, the blacklist,
the audit chain and the tenant boundary."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Permission
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid
from claimwatch.sanctions import queries, service
from claimwatch.sanctions.models import MandatoryTraining, Sanction, Violation
from claimwatch.web import pages as web_pages
from claimwatch.web.security import CSRF_HEADER
from tests.apps import shared_app
from tests.factories import reported
from tests.sanctions.conftest import SanctionWorld
from tests.web.conftest import csrf_from, sign_in

CST = dt.timezone(dt.timedelta(hours=8))


def _client(username: str) -> TestClient:
    client = TestClient(shared_app())
    sign_in(client, username)
    client.headers[CSRF_HEADER] = csrf_from(client.get("/login?next=/sanctions").text)
    return client


def _propose(sw: SanctionWorld, by: str, **values: Any) -> tuple[int, str, str, str]:
    defaults = {
        "violation_code": "MATERIALS_NOTICE",
        "user_id": None,
        "party": None,
        "source_kind": "inspection_finding",
        "source_id": 1,
        "source_label": "F-2026-000001",
        "source_url": "/inspections/findings/1",
        "reason": "未一次性告知",
    }
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        sanction = service.propose(session, sw.principal(by), **(defaults | values))
        return sanction.id, sanction.number, sanction.kind, sanction.default_kind


def _audit_kinds(tenant_id: int) -> list[str]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = session.execute(
            select(AuditEntry.kind).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.seq)
        )
        return [kind for (kind,) in rows if kind.startswith("sanction.")]


def test_an_approved_suspension_refuses_the_adjuster_until_its_end(sw: SanctionWorld):
    inspector, qm, adjuster = _client(sw.inspector), _client(sw.qm), _client(sw.adjuster)
    body = {
        "violation_code": "REPEATED_SERIOUS_ERROR",
        "username": sw.adjuster,
        "source_kind": "inspection_finding",
        "source_id": 7,
        "source_label": "F-2026-000007",
        "source_url": "/inspections/findings/7",
        "reason": "赔款计算严重错误",
    }
    # Outside the catalogue's range (3–30 days; a fine is no suspension's): refused, naming the field, nothing written.
    for extra, field in (({"days": 40}, "days"), ({"amount_cny": "500"}, "amount_cny"), ({"kind": "exile"}, "kind")):
        refused = inspector.post("/api/v1/sanctions", json=body | extra)
        assert refused.status_code == 422, refused.text
        assert refused.json()["problems"][0]["field"] == field
    fine = inspector.post(
        "/api/v1/sanctions", json=body | {"violation_code": "DEADLINE_MISSED", "amount_cny": "2000.01"}
    )
    assert fine.status_code == 422 and fine.json()["problems"][0]["field"] == "amount_cny"
    assert qm.get("/api/v1/sanctions").json() == []

    # A first suspension, approved ten days ago for 7 days: over, the adjuster works.
    old_id, old_number, _, _ = _propose(
        sw, sw.inspector, violation_code="REPEATED_SERIOUS_ERROR", user_id=sw.user_id(sw.adjuster), days=7, source_id=6
    )
    ten_days_ago = utc_now() - dt.timedelta(days=10)
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        service.approve(session, sw.principal(sw.qm), old_id, at=ten_days_ago)
    event = reported("e1", "SUS-001")
    assert adjuster.post("/api/v1/events", json=event).status_code == 201

    proposed = inspector.post("/api/v1/sanctions", json=body | {"days": 7})
    assert proposed.status_code == 201, proposed.text
    number = proposed.json()["number"]
    assert proposed.json()["status"] == "proposed" and proposed.json()["days"] == 7
    assert inspector.post("/api/v1/sanctions", json=body | {"days": 7}).status_code == 409  # sent twice
    approved = qm.post(f"/api/v1/sanctions/{number}/approve", json={"note": "同意"})
    assert approved.status_code == 200, approved.text
    until = approved.json()["until"]
    assert dt.date.fromisoformat(until) == utc_now().astimezone(CST).date() + dt.timedelta(days=6)

    refused = adjuster.post("/api/v1/events", json=reported("e2", "SUS-002"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == f"您的理赔处理权限已被暂停至 {until}（处罚 {number}）"
    english = adjuster.post("/api/v1/events", json=reported("e3", "SUS-003"), headers={"Accept-Language": "en"})
    assert english.json()["detail"] == f"Your claims handling permission is suspended until {until} (sanction {number})"
    assert adjuster.get("/api/v1/claims/SUS-001").status_code == 200  # reading is not suspended

    # The principal on the last day is refused; the day after, it may again. The assignment rules see it too.
    ends_at = dt.datetime.fromisoformat(until).replace(tzinfo=CST) + dt.timedelta(days=1)
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        user = auth_repository.user_by_username(session, sw.adjuster)
        assert user is not None
        last_day = auth_service.principal_for_user(user, session, ends_at - dt.timedelta(minutes=1))
        after = auth_service.principal_for_user(user, session, ends_at)
        assert not last_day.can(Permission.INGEST_EVENTS) and not last_day.can(Permission.BE_ASSIGNED)
        assert last_day.can(Permission.VIEW_CLAIMS) and last_day.can(Permission.HANDLE_COMPLAINTS) is False
        assert after.can(Permission.INGEST_EVENTS) and after.can(Permission.BE_ASSIGNED)
        assert auth_service.suspended_user_ids(session, Permission.BE_ASSIGNED) == {user.id}
        assert auth_service.suspended_user_ids(session, Permission.HANDLE_COMPLAINTS) == set()

    revoked = qm.post(f"/api/v1/sanctions/{number}/revoke", json={"reason": "申诉成立"})
    assert revoked.json()["status"] == "revoked"
    assert adjuster.post("/api/v1/events", json=reported("e4", "SUS-004")).status_code == 201
    assert _audit_kinds(sw.acme.id) == [
        "sanction.propose",
        "sanction.decide",
        "sanction.propose",
        "sanction.decide",
        "sanction.revoke",
    ]
    # Another insurer's quality manager sees none of it.
    other = _client(sw.bbb_qm)
    assert other.get(f"/api/v1/sanctions/{number}").status_code == 404
    assert other.get("/api/v1/sanctions").json() == []
    assert other.post(f"/api/v1/sanctions/{number}/approve", json={}).status_code == 404


def test_the_decision_is_another_quality_managers_and_happens_once(sw: SanctionWorld):
    sanction_id, number, kind, _ = _propose(
        sw, sw.qm, violation_code="DEADLINE_MISSED", user_id=sw.user_id(sw.adjuster)
    )
    assert kind == "fine"
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        found = session.get(Sanction, sanction_id)
        assert found is not None and found.amount_fen == 50000  # the catalogue's default, 500 CNY
        with pytest.raises(Forbidden) as own:
            service.approve(session, sw.principal(sw.qm), sanction_id)
        assert own.value.field == "sanction"
        with pytest.raises(Invalid) as no_reason:
            service.reject(session, sw.principal(sw.qm2), sanction_id, "  ")
        assert no_reason.value.field == "reason"
    qm2 = _client(sw.qm2)
    assert qm2.post(f"/api/v1/sanctions/{number}/reject", json={"reason": "证据不足"}).json()["status"] == "rejected"
    again = qm2.post(f"/api/v1/sanctions/{number}/approve", json={})
    assert again.status_code == 409 and again.json()["problems"][0]["field"] == "status"
    # An inspector proposes but does not decide; an adjuster does neither.
    assert _client(sw.inspector).post(f"/api/v1/sanctions/{number}/revoke", json={"reason": "x"}).status_code == 403
    assert _client(sw.adjuster).get("/api/v1/sanctions").status_code == 403


def test_repeat_offenders_are_escalated_within_the_window_and_get_a_training(sw: SanctionWorld):
    start = dt.datetime(2026, 1, 10, 10, 0, tzinfo=CST)
    shop = {"party": "repair_shop:粤B 快修厂", "violation_code": "THIRD_PARTY_INFLATED_BILL"}
    kinds = []
    for i, days in enumerate((0, 100, 200)):
        _, _, kind, default = _propose(sw, sw.inspector, source_id=10 + i, at=start + dt.timedelta(days=days), **shop)
        kinds.append((kind, default))
    assert kinds == [("reprimand", "reprimand"), ("reprimand", "reprimand"), ("fine", "fine")]  # the 3rd: one up
    # Sixteen months after the first, only the third remains in the window: no escalation.
    late = start + dt.timedelta(days=480)
    assert _propose(sw, sw.inspector, source_id=20, at=late, **shop)[2] == "reprimand"
    # Spacing and case do not make another party; a suspension is for staff only.
    with pytest.raises(Invalid) as refused:
        _propose(sw, sw.inspector, source_id=21, kind="suspension", **(shop | {"party": "repair_shop:粤b  快修厂"}))
    assert refused.value.field == "kind"
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        trainings = session.execute(select(MandatoryTraining)).scalars().all()
        assert [(t.party, t.due_on) for t in trainings] == [
            ("粤B 快修厂", dt.date(2026, 7, 29) + dt.timedelta(days=30))
        ]
        counts = [v.repeat_count for v in session.execute(select(Violation).order_by(Violation.id)).scalars()]
        assert counts == [1, 2, 3, 2]
        people = queries.people(session, sw.principal(sw.qm), "en", at=start + dt.timedelta(days=201))
        assert [(p["name"], p["in_window"], p["repeat"]) for p in people["people"]] == [("粤B 快修厂", 3, True)]
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        with pytest.raises(Conflict):
            _propose(sw, sw.inspector, source_id=20, at=late, **shop)


def test_the_blacklist_lists_and_lifts_parties_by_code_or_name(sw: SanctionWorld):
    qm = _client(sw.qm)
    shop = {"party_kind": "repair_shop", "name": "粤B 快修厂", "code": "RS-0042", "reason": "虚增维修费用"}
    added = qm.post("/api/v1/blacklist", json=shop)
    assert added.status_code == 201, added.text
    entry_id = added.json()["id"]
    assert qm.post("/api/v1/blacklist", json=shop | {"code": None}).status_code == 409  # same name, in force
    reversed_period = qm.post(
        "/api/v1/blacklist", json=shop | {"name": "x", "code": "y", "starts_on": "2026-05-01", "ends_on": "2026-04-01"}
    )
    assert reversed_period.status_code == 422 and reversed_period.json()["problems"][0]["field"] == "ends_on"
    unknown = qm.post("/api/v1/blacklist", json={"party_kind": "staff", "code": "nobody", "reason": "x"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "code"
    staff = qm.post("/api/v1/blacklist", json={"party_kind": "staff", "code": sw.adjuster, "reason": "欺诈"})
    assert staff.status_code == 201 and staff.json()["name"] == sw.adjuster
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        assert service.is_blacklisted(session, sw.acme.id, "repair_shop", "rs-0042") is not None
        assert service.is_blacklisted(session, sw.acme.id, "repair_shop", " 粤b 快修厂 ") is not None
        assert service.is_blacklisted(session, sw.acme.id, "hospital", "RS-0042") is None
        assert service.is_blacklisted(session, sw.bbb.id, "repair_shop", "RS-0042") is None
    assert qm.get("/api/v1/blacklist/check", params={"party_kind": "repair_shop", "q": "RS-0042"}).json()["listed"]
    lifted = qm.post(f"/api/v1/blacklist/{entry_id}/lift", json={"reason": "整改完毕"})
    assert lifted.status_code == 200 and lifted.json()["lifted_by"] == f"user:{sw.qm}"
    assert not qm.get("/api/v1/blacklist/check", params={"party_kind": "repair_shop", "q": "RS-0042"}).json()["listed"]
    assert qm.post(f"/api/v1/blacklist/{entry_id}/lift", json={"reason": "again"}).status_code == 409
    assert _client(sw.adjuster).post("/api/v1/blacklist", json=shop).status_code == 403
    assert [r["active"] for r in qm.get("/api/v1/blacklist").json()] == [True, False]
    assert _audit_kinds(sw.acme.id) == ["sanction.blacklist"] * 3


def test_pages_show_the_list_the_people_and_the_blacklist(sw: SanctionWorld):
    _, number, _, _ = _propose(sw, sw.inspector, user_id=sw.user_id(sw.adjuster), amount_cny=None)
    qm = _client(sw.qm)
    listing = qm.get("/sanctions?lang=en")
    assert listing.status_code == 200 and number in listing.text and "1 waiting for approval" in listing.text
    page = qm.get(f"/sanctions/{number}")
    assert 'id="approve-form"' in page.text
    refused = qm.post(f"/sanctions/{number}/reject", data={"reason": "", "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 422 and 'id="err-reject-reason"' in refused.text
    assert qm.get("/sanctions/people").status_code == 200
    blacklist = qm.get("/sanctions/blacklist")
    form = {"party_kind": "hospital", "name": "某某医院", "reason": "", "csrf_token": csrf_from(blacklist.text)}
    assert qm.post("/sanctions/blacklist", data=form).status_code == 422
    done = qm.post("/sanctions/blacklist", data=form | {"reason": "伪造病历"}, follow_redirects=False)
    assert done.status_code == 303
    assert "某某医院" in qm.get("/sanctions/blacklist").text
    assert _client(sw.adjuster).get(f"/sanctions/{number}").status_code == 403


@pytest.mark.skipif(
    "message" not in inspect.signature(web_pages.error_page).parameters,
    reason="the error page does not show a refusal's message yet (/work/notes/h4_suspension_error_page.patch)",
)
def test_a_suspended_adjuster_is_told_on_the_page(sw: SanctionWorld):
    sanction_id, number, _, _ = _propose(
        sw, sw.inspector, violation_code="REPEATED_SERIOUS_ERROR", user_id=sw.user_id(sw.adjuster), days=3
    )
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        service.approve(session, sw.principal(sw.qm), sanction_id)
    adjuster = _client(sw.adjuster)
    token = adjuster.headers[CSRF_HEADER]
    refused = adjuster.post("/claims/X-1/materials/profile", data={"claim_type": "x", "csrf_token": token})
    assert refused.status_code == 403
    assert f"（处罚 {number}）" in refused.text and 'id="refusal-message"' in refused.text
