"""Underwriting through its API, service, import, sweep and inbox, on both databases: an application assessed at
once (low risk decided automatically and told; high risk waiting for review), the decision with reasons told to the
applicant through the outbox, the turnaround clock, the refusals (no reason, another underwriter's case, another
insurer, the regulator), the all-or-nothing import, rule versions, and the clock's notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.notify.models import OutboxMessage, StaffNotification
from claimwatch.people.models import StaffMember
from claimwatch.policies import underwriting, underwriting_jobs, underwriting_rules
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.todo import registry
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

PHONE = "13812345678"


@dataclass(frozen=True)
class Uw:
    a: TenantHandle
    b: TenantHandle
    users: dict[str, int]


def build(world: World) -> Uw:
    a, b = world.tenant("UA", "甲保险"), world.tenant("UB", "乙保险")
    for name, role in (("uw1", Role.UNDERWRITER), ("uw2", Role.UNDERWRITER), ("sup", Role.SUPERVISOR)):
        world.user(f"ua.{name}", role, a)
    world.user("ua.adj", Role.ADJUSTER, a)
    world.user("ub.uw", Role.UNDERWRITER, b)
    world.user("reg", Role.REGULATOR, None)
    users: dict[str, int] = {}
    with unit_of_work(TenantContext.for_tenant(a.id)) as session:
        for user in session.execute(select(User).where(User.tenant_id == a.id)).scalars():
            users[user.username] = user.id
        org = tenancy_repository.org_ids_by_code(session)[a.branch_code]
        session.add(
            StaffMember(
                tenant_id=a.id, code="AG-1", name="王五", kind="agent", org_unit_id=org, hired_on=dt.date(2025, 1, 1)
            )
        )
    return Uw(a, b, users)


@pytest.fixture
def uw(world: World, db_snapshot: Snapshot) -> Uw:
    return db_snapshot("policies.underwriting", lambda: build(world))


def client_of(username: str) -> TestClient:
    client = TestClient(shared_app(), headers={"Origin": "http://testserver"})
    sign_in(client, username)
    return client


def core(tenant: TenantHandle) -> TestClient:
    return TestClient(shared_app(), headers={"X-API-Key": tenant.api_key})


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def application(number: str, **facts: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "application_number": number,
        "product_code": "LIFE-20",
        "line": "life",
        "channel": "agent",
        "agent_code": "AG-1",
        "applicant": {"name": "张三丰", "id_number": "110101199003074514", "phone": PHONE},
        "sum_insured": "300000",
        "premium": "5000",
        "facts": {"age": 35} | facts,
    }
    return body


HIGH = {"age": 66, "health": {"cancer": False, "hypertension": True}, "occupation_class": 4}


def test_intake_review_decision_told_and_audited(uw: Uw) -> None:
    api = core(uw.a)
    low = ok(api.post("/api/v1/underwriting/applications", json=application("AP-1")), 201)
    assert (low["status"], low["outcome"], low["risk_level"]) == ("assessed", "accept", "low")
    assert low["clock"]["outcome"] == "met" and low["notice_sent"] and low["applicant_name"] == "张**"
    assert PHONE not in str(low) and low["applicant_phone"] != PHONE
    again = api.post("/api/v1/underwriting/applications", json=application("AP-1", age=70))
    assert again.status_code == 200 and again.json()["risk_level"] == "low"  # recorded before: unchanged

    high = ok(api.post("/api/v1/underwriting/applications", json=application("AP-2", **HIGH)), 201)
    assert (high["status"], high["risk_level"], high["proposed_outcome"]) == ("in_review", "high", "exclusion")
    assert {f["code"] for f in high["fired"]} == {"AGE-60", "OCC-4", "H-HYPERTENSION"}
    assert high["risk_points"] == 65 and high["clock"]["state"] == "running" and not high["notice_sent"]
    assert high["clock"]["due_at"] > high["received_at"]

    uw1, uw2, sup = client_of("ua.uw1"), client_of("ua.uw2"), client_of("ua.sup")
    queue = ok(uw1.get("/api/v1/underwriting/applications", params={"unassigned": "true"}))
    assert [row["application_number"] for row in queue["items"]] == ["AP-2"]
    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        uw1_principal = Principal(
            role=Role.UNDERWRITER, tenant_id=uw.a.id, actor="user:ua.uw1", user_id=uw.users["ua.uw1"]
        )
        keys = {s.key: s.count for s in registry.inbox(session, uw1_principal, "zh")}
    assert keys["underwriting-unassigned"] == 1 and keys["underwriting"] == 0

    ok(uw1.post("/api/v1/underwriting/applications/AP-2/assign", json={}))
    refused = uw2.post(
        "/api/v1/underwriting/applications/AP-2/decision", json={"outcome": "accept", "review_reasons": "可承保"}
    )
    assert refused.status_code == 403  # another underwriter's case
    no_reason = uw1.post(
        "/api/v1/underwriting/applications/AP-2/decision", json={"outcome": "decline", "review_reasons": "风险过高"}
    )
    assert no_reason.status_code == 422 and no_reason.json()["problems"][0]["field"] == "reason"
    decided = ok(
        uw1.post(
            "/api/v1/underwriting/applications/AP-2/decision",
            json={
                "outcome": "exclusion",
                "reason": "因您告知有高血压病史，高血压及其并发症不在保障范围内。",
                "review_reasons": "血压控制良好，除外承保",
            },
        )
    )
    assert (decided["status"], decided["outcome"], decided["reviewer"]) == ("decided", "exclusion", "ua.uw1")
    assert decided["exclusions"] == ["高血压及其并发症"] and decided["clock"]["outcome"] == "met"
    assert [e["kind"] for e in decided["events"]][-2:] == ["decided", "notified"]
    again_decided = sup.post(
        "/api/v1/underwriting/applications/AP-2/decision", json={"outcome": "accept", "review_reasons": "x"}
    )
    assert again_decided.status_code == 409

    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        messages = (
            session.execute(select(OutboxMessage).where(OutboxMessage.reference == "AP-2").order_by(OutboxMessage.id))
            .scalars()
            .all()
        )
        assert [(m.channel, m.template) for m in messages] == [("sms", "underwriting_decision")]
        assert "高血压" in messages[0].body and "张**" in messages[0].body and PHONE not in messages[0].body
        kinds = dict(
            session.execute(
                select(AuditEntry.kind, func.count())
                .where(AuditEntry.subject.in_(["AP-1", "AP-2"]))
                .group_by(AuditEntry.kind)
            ).all()
        )
        assert kinds == {"underwriting.received": 2, "underwriting.decided": 2, "underwriting.assigned": 1}
        assert (
            session.execute(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == "config.underwriting_rules")
            ).scalar_one()
            == 1
        )  # the rule file loaded with the first application


def test_refusals_other_insurer_withdraw_and_rules(uw: Uw) -> None:
    api = core(uw.a)
    unknown_agent = api.post("/api/v1/underwriting/applications", json=application("AP-9") | {"agent_code": "NOPE"})
    assert unknown_agent.status_code == 422 and unknown_agent.json()["problems"][0]["field"] == "agent"
    ok(api.post("/api/v1/underwriting/applications", json=application("AP-3", **HIGH)), 201)
    assert client_of("ub.uw").get("/api/v1/underwriting/applications/AP-3").status_code == 404
    assert client_of("reg").get("/api/v1/underwriting/applications").status_code == 403
    assert client_of("ua.adj").get("/api/v1/underwriting/applications/AP-3").status_code == 403
    assert client_of("ua.uw1").post("/api/v1/underwriting/rules", json={}).status_code == 403

    withdrawn = ok(api.post("/api/v1/underwriting/applications/AP-3/withdraw", json={"reason": "客户撤回"}))
    assert withdrawn["status"] == "withdrawn" and withdrawn["clock"]["outcome"] == "void"
    assert api.post("/api/v1/underwriting/applications/AP-3/withdraw", json={"reason": "x"}).status_code == 409

    assert client_of("ua.sup").post("/api/v1/underwriting/rules", json={}).status_code == 403
    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        admin = Principal(role=Role.ADMIN, tenant_id=uw.a.id, actor="user:ua.admin")
        bad = "version: x\nthresholds: {medium: 30, high: 20}\n"
        with pytest.raises(Invalid) as refused:
            underwriting.load_rules(session, admin, bad, "mine.yaml")
        assert refused.value.field == "content" and "mine.yaml:2" in refused.value.message
        text = underwriting_rules.DEFAULT_RULES.read_text(encoding="utf-8").replace("2026.12-1", "2026.12-2")
        underwriting.load_rules(session, admin, text.replace("{medium: 30, high: 60}", "{medium: 30, high: 50}"))
    versions = ok(client_of("ua.uw1").get("/api/v1/underwriting/rules"))
    assert [(v["version"], v["in_force"]) for v in versions] == [("2026.12-2", True), ("2026.12-1", False)]


def test_import_all_or_nothing_then_the_sweep_reminds_and_escalates_once(uw: Uw) -> None:
    api = core(uw.a)
    header = "投保单号,产品代码,险类,渠道,代理人工号,保额,年龄,健康告知,联系电话\n"
    bad = header + "IM-1,LIFE-20,life,agent,AG-1,100000,30,,13800001111\nIM-2,LIFE-20,life,agent,ZZ-9,100000,abc,,\n"
    refused = api.post("/api/v1/underwriting/applications/import", content=bad, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422
    problems = {(p["line"], p["column"]) for p in refused.json()["problems"]}
    assert problems == {(3, "年龄")}  # the schema refuses the age first; the agent is checked once the row reads
    bad_agent = header + "IM-1,LIFE-20,life,agent,AG-1,100000,30,,\nIM-2,LIFE-20,life,agent,ZZ-9,100000,40,,\n"
    refused = api.post(
        "/api/v1/underwriting/applications/import", content=bad_agent, headers={"Content-Type": "text/csv"}
    )
    assert [(p["line"], p["column"], p["field"]) for p in refused.json()["problems"]] == [(3, "代理人工号", "agent")]
    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        assert session.execute(select(func.count()).select_from(UnderwritingCase)).scalar_one() == 0
    good = header + "IM-1,LIFE-20,life,agent,AG-1,100000,30,,\nIM-2,LIFE-20,health,bank,,2000000,66,hypertension,\n"
    result = ok(
        api.post("/api/v1/underwriting/applications/import", content=good, headers={"Content-Type": "text/csv"}), 201
    )
    assert (result["created"], result["numbers"]) == (2, ["IM-1", "IM-2"])
    case = ok(client_of("ua.uw1").get("/api/v1/underwriting/applications/IM-2"))
    assert case["status"] == "in_review" and {f["code"] for f in case["fired"]} == {
        "AGE-60",
        "SI-HIGH",
        "H-HYPERTENSION",
    }

    # IM-2 waits for review: the sweep reminds the underwriters, then escalates once
    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        clock = session.execute(select(UnderwritingClock).where(UnderwritingClock.state == "running")).scalar_one()
        remind, due = clock.yellow_due_at, clock.red_due_at
    assert remind is not None and due is not None
    first = underwriting_jobs.run_clocks(remind + dt.timedelta(minutes=1))
    second = underwriting_jobs.run_clocks(due + dt.timedelta(minutes=1))
    third = underwriting_jobs.run_clocks(due + dt.timedelta(days=3))
    assert (first.yellow, first.red, second.yellow, second.red, third.checked) == (1, 0, 0, 1, 0)
    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        notices = session.execute(
            select(StaffNotification.kind, StaffNotification.recipient_role).order_by(StaffNotification.id)
        ).all()
    assert [tuple(n) for n in notices] == [
        ("underwriting_due_soon", "underwriter"),
        ("underwriting_overdue", "underwriter"),
        ("underwriting_overdue", "supervisor"),
    ]
