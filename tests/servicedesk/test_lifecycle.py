"""What a handler does with a request (h1), through the API on both databases: assignment (team, handler; a reader
or an unknown team refused), an internal note, a reply through the outbox that stops the first-response clock and
records the knowledge-base articles used, waiting on the customer (clocks paused) and resuming, resolution with a
code of the category (first-contact resolution computed), close, a note or reply to a closed request refused naming
``status``, reopen with a new resolution clock, cancel, and escalation into a complaint that keeps the link."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.complaints.models import Complaint
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import OutboxMessage
from tests.factories import World
from tests.servicedesk.requests_world import BASE, PHONE, Desk, body, build, core, ok, staff
from tests.snapshots import Snapshot


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


def clock(view: dict, policy: str) -> dict:
    return next(c for c in view["clocks"] if c["policy"] == policy)


def test_assign_note_reply_wait_resolve_close_reopen(desk: Desk) -> None:
    number = ok(core(desk.a.api_key).post(BASE, json=body()), 201)["number"]
    cs = staff("sr.cs")
    url = f"{BASE}/{number}"
    assert cs.post(f"{url}/assign", json={"team": "nowhere"}).json()["problems"][0]["field"] == "team"
    assert cs.post(f"{url}/assign", json={"username": "sr.adj"}).json()["problems"][0]["field"] == "username"
    assigned = ok(cs.post(f"{url}/assign", json={"team": "policy_service", "username": "sr.cs2"}))
    assert (assigned["team"], assigned["handler"], assigned["status"]) == ("policy_service", "sr.cs2", "in_progress")
    ok(cs.post(f"{url}/notes", json={"text": "客户来电两次，需尽快回复"}))
    unknown_article = cs.post(f"{url}/replies", json={"text": "您好", "articles_used": [999999]})
    assert unknown_article.status_code == 422 and unknown_article.json()["problems"][0]["field"] == "articles_used"

    replied = ok(cs.post(f"{url}/replies", json={"text": "您好，保单贷款需携带身份证和保单，3个工作日到账。"}))
    assert replied["first_response_at"] is not None
    assert (
        clock(replied, "first_response")["state"] == "stopped" and clock(replied, "first_response")["outcome"] == "met"
    )
    assert [e["kind"] for e in replied["events"]] == ["received", "assigned", "noted", "replied"]
    waiting = ok(cs.post(f"{url}/wait", json={"reason": "等待客户补充保单号"}))
    assert waiting["status"] == "waiting_customer" and clock(waiting, "resolution")["state"] == "paused"
    assert cs.post(f"{url}/wait", json={}).status_code == 409
    resumed = ok(cs.post(f"{url}/resume", json={}))
    assert resumed["status"] == "in_progress" and clock(resumed, "resolution")["state"] == "running"
    ok(cs.post(f"{url}/replies", json={"text": "已为您办理，请留意短信。"}))

    bad_code = cs.post(f"{url}/resolve", json={"resolution_code": "done"})  # a policy_change code, not an enquiry's
    assert bad_code.status_code == 422 and bad_code.json()["problems"][0]["field"] == "resolution_code"
    resolved = ok(cs.post(f"{url}/resolve", json={"resolution_code": "answered", "note": "已解答"}))
    assert (resolved["status"], resolved["resolution_code"], resolved["first_contact_resolved"]) == (
        "resolved",
        "answered",
        False,  # two replies and a wait
    )
    assert clock(resolved, "resolution")["state"] == "stopped"
    closed = ok(cs.post(f"{url}/close"))
    assert closed["status"] == "closed" and closed["closed_at"]
    for action, payload in (("notes", {"text": "补充"}), ("replies", {"text": "再次回复"})):
        refused = cs.post(f"{url}/{action}", json=payload)
        assert refused.status_code == 409 and refused.json()["problems"][0]["field"] == "status"
    assert cs.post(f"{url}/reopen", json={}).json()["problems"][0]["field"] == "reason"
    reopened = ok(cs.post(f"{url}/reopen", json={"reason": "客户表示仍未到账"}))
    assert reopened["status"] == "in_progress" and reopened["resolution_code"] is None
    assert clock(reopened, "resolution")["cycle"] == 2 and clock(reopened, "resolution")["state"] == "running"

    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        messages = session.execute(select(OutboxMessage).where(OutboxMessage.template == "service_reply")).scalars()
        sent = [(m.channel, m.idempotency_key) for m in messages]
        kinds = (
            session.execute(select(AuditEntry.kind).where(AuditEntry.subject == number).order_by(AuditEntry.seq))
            .scalars()
            .all()
        )
    assert sent == [("sms", f"servicedesk:{number}:reply:1:sms"), ("sms", f"servicedesk:{number}:reply:2:sms")]
    assert kinds == [
        f"servicedesk.{k}"
        for k in ("received", "assigned", "noted", "replied", "waiting", "resumed", "replied", "resolved", "closed")
    ] + ["servicedesk.reopened"]


def test_first_contact_cancel_and_escalation_keeps_the_link(desk: Desk) -> None:
    api = core(desk.a.api_key)
    # A working-day target: received on a day of a calendar year the tests know (whatever day they run on).
    quick = ok(api.post(BASE, json=body(category="documents", received_at="2026-11-02T09:00:00+08:00")), 201)
    quick = quick["number"]
    ok(api.post(f"{BASE}/{quick}/replies", json={"text": "发票已发送至您的邮箱"}))
    fcr = ok(api.post(f"{BASE}/{quick}/resolve", json={"resolution_code": "sent"}))
    assert fcr["first_contact_resolved"] is True

    dropped = ok(api.post(BASE, json=body()), 201)["number"]
    assert api.post(f"{BASE}/{dropped}/cancel", json={}).json()["problems"][0]["field"] == "reason"
    cancelled = ok(api.post(f"{BASE}/{dropped}/cancel", json={"reason": "重复来电"}))
    assert cancelled["status"] == "cancelled" and {c["outcome"] for c in cancelled["clocks"]} == {"void"}
    assert api.post(f"{BASE}/{dropped}/notes", json={"text": "x"}).json()["problems"][0]["field"] == "status"

    angry = ok(api.post(BASE, json=body(category="dissatisfaction", subject="理赔员态度差")), 201)["number"]
    bad = api.post(f"{BASE}/{angry}/escalate", json={"category": "nonsense"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "category"
    escalated = ok(api.post(f"{BASE}/{angry}/escalate", json={"category": "claims", "sub_cause": "attitude"}))
    assert escalated["complaint_number"] and escalated["events"][-1]["kind"] == "escalated"
    again = api.post(f"{BASE}/{angry}/escalate", json={"category": "claims"})
    assert again.status_code == 409 and again.json()["problems"][0]["field"] == "complaint"
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        complaint = session.execute(select(Complaint)).scalar_one()
        assert complaint.number == escalated["complaint_number"] and complaint.external_ref == angry
        assert complaint.channel == "hotline" and complaint.category == "claims"
        assert PHONE not in (complaint.phone_enc or "") and complaint.customer_key is not None
        assert angry in complaint.description
