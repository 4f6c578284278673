"""The legal notices of issue 15: the 保险法 art. 24 refusal notice (an outbox letter with the reason and the
appeal route, and a 3-day clock that stops when it is sent), the 交强险 clocks (交强险条例 arts. 28-29) for
claims reported as compulsory motor cover, and the art. 23 decision clock that runs from complete materials."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.cases.models import Claim
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify import jobs as notify_jobs
from claimwatch.notify import service as notify_service
from claimwatch.notify.models import OutboxMessage
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import PolicyError, base_policies, parse_policies
from claimwatch.sla.models import SlaClock
from tests.factories import reported, transition
from tests.sla.helpers import clocks, local, post_events

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
REASON = "依据保险条款第七条第（三）项：驾驶人饮酒后驾驶，属责任免除"


def _policies(text: str) -> str:
    return "policies:\n" + text


_BASE = """  - code: p
    unit: calendar_days
    yellow: 1
    red: 2
    stop: {statuses: [closed]}
"""


def test_policies_select_by_coverage_start_on_complete_materials_and_cite_their_articles():
    only, excluded = parse_policies(
        _policies(
            _BASE + "    start: {events: [reported]}\n    coverage: [compulsory]\n"
            "  - code: q\n    unit: hours\n    yellow: 1\n    red: 2\n    coverage: {not: [compulsory]}\n"
            "    start: {signals: [materials_complete]}\n    stop: {statuses: [closed]}\n"
        ),
        "t.yaml",
    )
    assert only.applies_to("motor", 100, coverage="compulsory") and not only.applies_to("motor", 100)
    assert excluded.applies_to("motor", 100) and excluded.applies_to("motor", 100, coverage="commercial")
    assert not excluded.applies_to("motor", 100, coverage="compulsory")
    assert excluded.start_signals == {"materials_complete"}
    for bad, message, line in [
        ("    start: {events: [reported]}\n    coverage: [voluntary]\n", "unknown coverage 'voluntary'", 8),
        ("    start: {events: [reported]}\n    coverage: {only: [compulsory]}\n", "one key 'not'", 8),
        ("    start: {signals: [refusal_notice_sent]}\n", "cannot start on 'refusal_notice_sent'", 7),
    ]:
        with pytest.raises(PolicyError) as error:
            parse_policies(_policies(_BASE + bad), "t.yaml")
        assert message in str(error.value) and f"t.yaml:{line}" in str(error.value)
    policies = base_policies()
    assert "第二十四条" in policies["refusal_notice"].basis
    assert "第二十八条" in policies["compulsory_materials_notice"].basis
    assert (
        "第二十九条" in policies["compulsory_decision"].basis and "第二十九条" in policies["compulsory_payment"].basis
    )
    assert policies["compulsory_materials_notice"].yellow == 1 and policies["compulsory_decision"].yellow == 5
    assert {p.code for p in policies.values() if "compulsory" in p.coverages_excluded} == {
        "materials_notice",
        "claim_decision",
        "payment",
    }
    # The art. 23 clock no longer starts at the report (but from complete materials, or the claim moving on).
    assert not policies["claim_decision"].start_events
    assert policies["claim_decision"].start_signals == {"materials_received", "materials_complete"}


def test_a_compulsory_claim_runs_on_the_compulsory_clocks(client, world):
    tenant = world.tenant()
    headers = {"X-API-Key": tenant.api_key}
    bad = [
        reported("m", "C-M", line="medical", coverage="compulsory"),
        reported("v", "C-V", coverage="voluntary"),
    ]
    for event in bad:
        response = client.post("/api/v1/events", json=event, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"].endswith("coverage")
    post_events(
        client,
        tenant.api_key,
        [
            reported("r", "C-1", coverage="compulsory"),
            reported("r2", "C-2", coverage="commercial"),
            transition("a", "C-1", "accepted", hours=1),
            transition("i", "C-1", "initial_review", hours=2),
            transition("s", "C-1", "investigation", hours=26),
        ],
    )
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        stored = dict(session.execute(select(Claim.number, Claim.coverage)).all())
    assert stored == {"C-1": "compulsory", "C-2": "commercial"}
    by_claim: dict[int, dict[str, SlaClock]] = {}
    for clock in clocks(tenant.id):
        by_claim.setdefault(clock.claim_id, {})[clock.policy_code] = clock
    compulsory, commercial = (by_claim[k] for k in sorted(by_claim))
    assert set(compulsory) == {
        "timeliness_small",
        "compulsory_materials_notice",
        "compulsory_decision",
        "advance_payment",
    }
    # The commercial claim: the general one-time notice clock; no decision clock before its materials are complete.
    assert set(commercial) == {"timeliness_small", "materials_notice", "advance_payment"}
    notice = compulsory["compulsory_materials_notice"]
    # 交强险条例 art. 28, 1 day from Mon 2 Nov 09:00: the day after ends at Wed 4 Nov 00:00; the claim moved on
    # from the materials review to the survey at +26 h, in time.
    assert notice.yellow_due_at == local(2026, 11, 4)
    assert notice.state == "stopped" and notice.outcome == "met"
    decision = compulsory["compulsory_decision"]
    # art. 29: 5 days from the materials (here: the survey, +26 h = Tue 3 Nov 11:00) end with Sun 8 Nov -> Mon 9 Nov.
    assert decision.started_at == local(2026, 11, 3, 11)
    assert decision.yellow_due_at == local(2026, 11, 10)
    steps = ["assessment", "verification", "approval", "payment"]
    post_events(client, tenant.api_key, [transition(f"p{i}", "C-1", s, hours=30 + i) for i, s in enumerate(steps)])
    payment = {c.policy_code: c for c in clocks(tenant.id) if c.claim_id == decision.claim_id}
    assert payment["compulsory_payment"].state == "running" and "payment" not in payment
    assert payment["compulsory_decision"].outcome == "met"


def test_the_decision_clock_starts_when_the_materials_are_complete(client, world, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(tmp_path / "documents"))
    get_settings.cache_clear()
    tenant = world.tenant()
    headers = {"X-API-Key": tenant.api_key}
    post_events(
        client, tenant.api_key, [reported("r", "C-5", amount="2000"), reported("r6", "C-6", coverage="compulsory")]
    )
    claim_id = clocks(tenant.id)[0].claim_id
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        # The one-time notice pauses what runs; the decision clock has not started, so nothing of it pauses.
        sla_service.signal(session, tenant.id, claim_id, "materials_requested", local(2026, 11, 2, 11), "test")
    assert not clocks(tenant.id, "claim_decision")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        sla_service.signal(session, tenant.id, claim_id, "materials_received", local(2026, 11, 5, 15), "test")
    decision = clocks(tenant.id, "claim_decision")[0]
    # 30 days from Thu 5 Nov (the notice answered), not from the report on Mon 2 Nov: ends Sat 5 Dec -> Mon 7 Dec.
    assert decision.state == "running" and decision.started_at == local(2026, 11, 5, 15)
    assert decision.yellow_due_at == local(2026, 12, 8)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        # Only once per cycle: a later signal does not start it again.
        assert sla_service.signal(session, tenant.id, claim_id, "materials_complete", local(2026, 11, 6), "t") == 0
    # Through the materials service: the last required item of the checklist starts the 交强险 clock.
    profile = {"claim_type": "vehicle_damage", "facts": []}
    assert client.put("/api/v1/claims/C-6/materials/profile", json=profile, headers=headers).status_code == 200
    codes = client.get("/api/v1/claims/C-6/materials", headers=headers).json()["missing"]
    for index, code in enumerate(codes):
        assert not clocks(tenant.id, "compulsory_decision")
        files = {"file": ("scan.pdf", PDF + str(index).encode(), "application/pdf")}
        response = client.post("/api/v1/claims/C-6/documents", data={"item_code": code}, files=files, headers=headers)
        assert response.status_code == 201, response.text
    started = clocks(tenant.id, "compulsory_decision")
    assert [c.state for c in started] == ["running"]
    get_settings.cache_clear()


def test_a_rejection_sends_the_refusal_notice_and_its_clock_stops_when_sent_or_posted(client, world):
    tenant = world.tenant()
    # Events of the last few hours: the worker sends at the real time, and the notice is in time.
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=5)
    events = [
        reported("r", "C-8", coverage="compulsory"),
        reported("r9", "C-9", claimant={"name": "李四"}),  # no phone, no e-mail: no channel for the letter
        transition("a", "C-8", "accepted", hours=1),
        transition("i", "C-8", "initial_review", hours=2),
        transition("x", "C-8", "rejected", hours=3, reason=REASON),
        transition("a9", "C-9", "accepted", hours=1),
        transition("i9", "C-9", "initial_review", hours=2),
        transition("x9", "C-9", "rejected", hours=3, reason="不属于保险责任"),
    ]
    for event in events:
        hours = (dt.datetime.fromisoformat(event["occurred_at"]) - local(2026, 11, 2, 9)).total_seconds() / 3600
        event["occurred_at"] = (base + dt.timedelta(hours=hours)).isoformat()
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:  # C-8's claimant wants no messages...
        notify_service.opt_out(session, tenant.id, "13812345678", "*", "test")
    post_events(client, tenant.api_key, events)
    notices = clocks(tenant.id, "refusal_notice")
    assert [c.state for c in notices] == ["running", "running"]
    decided = base + dt.timedelta(hours=3)
    assert notices[0].started_at == decided
    # 3 calendar days after the day of the decision (rolled to a working day): never less than 3 days.
    assert notices[0].yellow_due_at is not None and notices[0].yellow_due_at - decided >= dt.timedelta(days=3)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        letters = list(session.execute(select(OutboxMessage).where(OutboxMessage.about_status == "rejected")).scalars())
    assert [m.template for m in letters] == ["refusal_notice"]  # in place of the progress message
    assert letters[0].status == "queued"  # ...but an opt-out does not suppress a legal notice
    body = letters[0].body
    assert "【拒赔通知书】" in letters[0].subject and REASON in body
    assert "12378" in body and "仲裁" in body and "人民法院" in body and "示例保险" in body
    assert "《中华人民共和国保险法》第二十四条" in body and "第二十九条" in body and "第三十条" in body  # 交强险

    result = notify_jobs.deliver(now=dt.datetime.now(dt.UTC))
    assert result.sent + result.delivered >= 1
    sent, unreachable = clocks(tenant.id, "refusal_notice")
    assert sent.state == "stopped" and sent.outcome == "met"
    assert unreachable.state == "running"  # nobody was told: the clock runs on and breaches on day 3

    # ...unless the notice goes by post: who, when, the tracking number (API), audited, on the claim page; the
    # clock stops at the posting time.
    headers = {"X-API-Key": tenant.api_key}
    posted = {"tracking_number": "EMS1234567890CN", "carrier": "中国邮政 EMS"}
    bad = client.post("/api/v1/claims/C-9/notices/posted", json={"tracking_number": "no spaces!"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "tracking_number"
    at = decided + dt.timedelta(hours=1)
    body = posted | {"posted_at": at.isoformat()}
    done = client.post("/api/v1/claims/C-9/notices/posted", json=body, headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["posted_by"] == "api_key:ACME-core"
    assert client.post("/api/v1/claims/C-9/notices/posted", json=posted, headers=headers).status_code == 409
    (listed,) = client.get("/api/v1/claims/C-9/notices/posted", headers=headers).json()
    assert listed["carrier"] == "中国邮政 EMS" and dt.datetime.fromisoformat(listed["posted_at"]) == at
    _, by_post = clocks(tenant.id, "refusal_notice")
    assert (by_post.state, by_post.outcome, by_post.stopped_at) == ("stopped", "met", at)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.kind == "notify.notice_posted")).scalar_one()
        assert entry.subject == "C-9" and "EMS1234567890CN" in (entry.payload or "")
    page = client.get("/claims/C-9?lang=en", headers=headers)
    assert page.status_code == 200 and 'data-tracking="EMS1234567890CN"' in page.text

    _, english = notify_service.render(
        "refusal_notice",
        "en",
        {"number": "C-1", "name": "Z***", "line_label": "Motor", "lookup_url": "https://x/lookup", "insurer": "ACME"}
        | {"decided_at": "2026-11-02", "reason": "excluded: drink driving", "compulsory": False},
    )
    assert "Reason: excluded: drink driving" in english and "art. 24" in english and "12378" in english
    assert "art. 29" not in english
