"""Provider tasks, staff side (issue 21): sending a task (deadline from the contract on the SLA engine, standard
documents, the claim's handler, the provider's e-mail, audit), the refusals that write nothing, the standard rule,
disputes, cancelling, the queue and the claim's list, and the rules that send a task by themselves."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.cases.models import Claim
from claimwatch.notify.models import OutboxMessage
from claimwatch.providers import loader, rules, task_service
from claimwatch.providers.models import Provider, ProviderTask, ProviderTaskClock, ProviderTaskEvent
from claimwatch.sla import engine
from tests.factories import reported, transition
from tests.providers.task_world import MONDAY, TaskWorld, task_world_fixture  # noqa: F401 - the module's world

STANDARD = ["鉴定委托书", "保单复印件", "事故照片", "损失清单"]


def _counts(tw: TaskWorld) -> tuple[int, int, int]:
    with tw.session() as session:
        return (
            session.execute(select(func.count()).select_from(ProviderTask)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one(),
        )


def test_a_task_sent_from_the_api_has_its_contract_deadline_handler_documents_and_email(task_world: TaskWorld):
    tw = task_world
    response = tw.client.post(
        "/api/v1/claims/C1/provider-tasks",
        json={
            "provider_code": "APP-1",
            "kind": "appraisal",
            "documents": [*STANDARD, "维修清单"],
            "instructions": "请尽快",
        },
        headers=tw.headers("adj"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"PT-\d{6}-\d{5}", body["number"])
    assert body["status"] == "sent" and body["standard_documents"] is True
    assert (body["level_days"], body["level_unit"]) == (5, "working_days")
    assert body["clock"]["state"] == "running" and body["light"] == "green"
    assert body["events"][0]["action"] == "sent"
    with tw.session() as session:
        task = task_service.get_task(session, body["number"])
        assert task.handler_user_id == tw.users["adj"]
        assert task.contract_id is not None and task.sent_by.startswith("api_key:")
        clock = session.execute(select(ProviderTaskClock).where(ProviderTaskClock.task_id == task.id)).scalar_one()
        assert task.due_at == clock.red_due_at and clock.yellow_due_at < clock.red_due_at
        mail = session.execute(select(OutboxMessage).where(OutboxMessage.reference == task.number)).scalar_one()
        assert mail.channel == "email" and mail.claim_id is None and mail.template == "provider_task"
        assert "鉴定" in mail.subject and "/provider/tasks/" in mail.body and "张三丰" not in mail.body
        entry = session.execute(
            select(AuditEntry)
            .where(AuditEntry.kind == "provider_task.sent", AuditEntry.subject == task.number)
            .order_by(AuditEntry.seq)
        ).scalar_one()
        assert entry is not None


def test_the_deadline_counts_working_days_on_the_tenant_calendar(task_world: TaskWorld):
    with task_world.session() as session:
        task = task_service.send_task(
            session, task_world.principal(), claim_number="C1", provider_code="APP-1", kind="appraisal", at=MONDAY
        )
        # Sent Monday 2 November: 5 working days from the next day → the end of Monday 9 November (local).
        assert task.due_at == dt.datetime(2026, 11, 10, tzinfo=MONDAY.tzinfo)
        assert task.number.startswith("PT-202611-") and task.standard_documents is True
        # Without a contract the kind's default level applies (appraisal: 10 working days) and it is not standard.
        other = task_service.send_task(
            session, task_world.principal(), claim_number="C1", provider_code="APP-2", kind="appraisal", at=MONDAY
        )
        assert other.contract_id is None and (other.level_days, other.level_unit) == (10, "working_days")
        assert other.due_at == dt.datetime(2026, 11, 17, tzinfo=MONDAY.tzinfo)


@pytest.mark.parametrize(
    ("payload", "claim", "status", "field"),
    [
        ({"provider_code": "SUS-1", "kind": "appraisal"}, "C1", 409, "provider_code"),
        ({"provider_code": "HOSP-1", "kind": "appraisal"}, "C1", 409, "provider_code"),
        ({"provider_code": "APP-1", "kind": "palmistry"}, "C1", 422, "kind"),
        ({"provider_code": "APP-1", "kind": "appraisal"}, "C2", 409, "claim_number"),
        ({"provider_code": "APP-1", "kind": "appraisal"}, "NOPE", 404, "claim_number"),
        ({"provider_code": "NOBODY", "kind": "appraisal"}, "C1", 404, "provider"),
    ],
)
def test_a_refused_task_writes_nothing(task_world: TaskWorld, payload: dict, claim: str, status: int, field: str):
    before = _counts(task_world)
    response = task_world.client.post(
        f"/api/v1/claims/{claim}/provider-tasks", json=payload, headers=task_world.headers("adj")
    )
    assert response.status_code == status, response.text
    assert response.json()["problems"][0]["field"] == field
    assert _counts(task_world) == before


def test_standard_needs_the_documents_a_contract_the_deadline_and_the_fields(task_world: TaskWorld):
    with task_world.session() as session:
        kind = loader.task_kinds(session, task_world.tenant.id)["appraisal"]
        task = task_service.send_task(
            session,
            task_world.principal(),
            claim_number="C1",
            provider_code="APP-1",
            kind="appraisal",
            documents=STANDARD[:2],
            at=MONDAY,
        )
        assert task.standard_documents is False
        assert task_service.evaluate_standard(task, kind) == (
            False,
            ["not_standard_documents", "late", "missing_fields"],
        )
        # The provider's report (as provider_service records it) on time, with both fields.
        task.documents, task.standard_documents = STANDARD, True
        task.reported_at = MONDAY + dt.timedelta(days=3)
        task.amount_assessed, task.conclusion = Decimal("18500.00"), "全损"
        assert task_service.finish_clock(session, task, task.reported_at) is True
        assert task_service.evaluate_standard(task, kind) == (True, [])
        task.conclusion = " "
        assert task_service.evaluate_standard(task, kind) == (False, ["missing_fields"])


def _reported(tw: TaskWorld) -> str:
    """A task whose report is in (as the provider's service leaves it)."""
    with tw.session() as session:
        task = task_service.send_task(
            session, tw.principal(), claim_number="C1", provider_code="APP-1", kind="appraisal", at=MONDAY
        )
        task.status, task.reported_at, task.conclusion = "reported", MONDAY + dt.timedelta(days=1), "部分损失"
        task_service.finish_clock(session, task, task.reported_at)
        return task.number


def test_a_dispute_is_raised_resolved_once_and_the_task_cancelled_or_closed(task_world: TaskWorld):
    tw = task_world
    number = _reported(tw)
    raised = tw.client.post(
        f"/api/v1/provider-tasks/{number}/disputes", json={"reason": "估损偏低"}, headers=tw.headers("adj")
    )
    assert raised.status_code == 201, raised.text
    assert raised.json()["status"] == "disputed"
    dispute_id = raised.json()["disputes"][0]["id"]
    refused = tw.client.post(
        f"/api/v1/provider-task-disputes/{dispute_id}/resolve",
        json={"outcome": "upheld", "note": "x"},
        headers=tw.headers("adj"),
    )
    assert refused.status_code == 403
    no_note = tw.client.post(
        f"/api/v1/provider-task-disputes/{dispute_id}/resolve", json={"outcome": "upheld"}, headers=tw.headers("sup")
    )
    assert no_note.status_code == 422 and no_note.json()["problems"][0]["field"] == "note"
    resolved = tw.client.post(
        f"/api/v1/provider-task-disputes/{dispute_id}/resolve",
        json={"outcome": "upheld", "note": "重新定损"},
        headers=tw.headers("sup"),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "reported"
    assert resolved.json()["disputes"][0]["outcome"] == "upheld"
    again = tw.client.post(
        f"/api/v1/provider-task-disputes/{dispute_id}/resolve",
        json={"outcome": "rejected", "note": "x"},
        headers=tw.headers("qm"),
    )
    assert again.status_code == 409
    # The claimant (the lookup page) disputes too; a task still open cannot be disputed.
    with tw.session() as session:
        task_service.raise_dispute(session, "claimant", number, by_kind="claimant", reason="金额不对")
    closed = tw.client.post(f"/api/v1/provider-tasks/{number}/close", json={}, headers=tw.headers("adj"))
    assert closed.status_code == 409  # a dispute is open
    with tw.session() as session:
        open_task = task_service.send_task(
            session, tw.principal(), claim_number="C1", provider_code="APP-2", kind="appraisal"
        )
        with pytest.raises(task_service.WrongTaskState):
            task_service.raise_dispute(session, "claimant", open_task.number, by_kind="claimant", reason="?")
        open_number = open_task.number
    cancelled = tw.client.post(
        f"/api/v1/provider-tasks/{open_number}/cancel", json={"reason": "客户撤案"}, headers=tw.headers("adj")
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["clock"]["outcome"] == engine.VOID
    again = tw.client.post(
        f"/api/v1/provider-tasks/{open_number}/cancel", json={"reason": "x"}, headers=tw.headers("adj")
    )
    assert again.status_code == 409 and again.json()["problems"][0]["field"] == "status"
    with tw.session() as session:
        actions = session.execute(
            select(ProviderTaskEvent.action)
            .join(ProviderTask, ProviderTask.id == ProviderTaskEvent.task_id)
            .where(ProviderTask.number == open_number)
            .order_by(ProviderTaskEvent.id)
        ).scalars()
        assert list(actions) == ["sent", "cancelled"]


def test_the_queue_is_nearest_deadline_first_and_the_claim_lists_its_tasks(task_world: TaskWorld):
    tw = task_world
    # Sent the day after the report, so it is overdue now whatever the module's other tests sent before it.
    sent = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with tw.session() as session:
        task_service.send_task(
            session, tw.principal(), claim_number="C1", provider_code="APP-1", kind="appraisal", at=sent
        )
    queue = tw.client.get("/api/v1/provider-tasks", headers=tw.headers("qm"))
    assert queue.status_code == 200, queue.text
    dues = [item["due_at"] for item in queue.json()["items"]]
    assert dues == sorted(dues) and queue.json()["total"] >= 1
    assert all(item["status"] in ("sent", "accepted") for item in queue.json()["items"])
    overdue = tw.client.get("/api/v1/provider-tasks?overdue=true&provider=APP-1", headers=tw.headers("qm")).json()
    assert overdue["items"] and all(i["overdue"] and i["provider_code"] == "APP-1" for i in overdue["items"])
    mine = tw.client.get("/api/v1/claims/C1/provider-tasks", headers=tw.headers("adj"))
    assert mine.status_code == 200 and {i["claim_number"] for i in mine.json()} == {"C1"}
    assert tw.client.get("/api/v1/provider-tasks/PT-000000-00000", headers=tw.headers("adj")).status_code == 404


def test_rules_send_an_appraisal_to_the_least_busy_and_medical_records_to_the_named_hospital(task_world: TaskWorld):
    tw = task_world
    # The least busy appraisal agency (open tasks, then code) before the claims arrive: the tests before this one
    # may have run on another xdist worker, so it is counted here, not assumed.
    with tw.session() as session:
        open_counts = dict(
            session.execute(
                select(Provider.code, func.count(ProviderTask.id))
                .join(ProviderTask, ProviderTask.provider_id == Provider.id)
                .where(ProviderTask.status.in_(("sent", "accepted")), Provider.code.in_(("APP-1", "APP-2")))
                .group_by(Provider.code)
            ).all()
        )
    least_busy = min(("APP-1", "APP-2"), key=lambda code: (open_counts.get(code, 0), code))
    medical = reported("M1-r", "M1", line="medical", org_code="ACME-B1", details={"provider": "HOSP-1"})
    tw.ingest(
        [
            reported("L1-r", "L1", amount="30000.00", org_code="ACME-B1"),
            *[transition(f"L1-{i}", "L1", s, hours=1 + i) for i, s in enumerate(["accepted", "initial_review"])],
            transition("L1-3", "L1", "assessment", hours=4),
            reported("S1-r", "S1", amount="3000.00", org_code="ACME-B1"),
            *[transition(f"S1-{i}", "S1", s, hours=1 + i) for i, s in enumerate(["accepted", "initial_review"])],
            transition("S1-3", "S1", "assessment", hours=4),
            medical,
            transition("M1-1", "M1", "accepted", hours=1),
            transition("M1-2", "M1", "initial_review", hours=2),
        ]
    )
    with tw.session() as session:
        by_claim = {
            number: (task.kind, task.provider_id, task.sent_by_rule)
            for number, task in session.execute(
                select(Claim.number, ProviderTask).join(Claim, Claim.id == ProviderTask.claim_id)
            ).all()
            if number in ("L1", "S1", "M1")
        }
        codes = {p.id: p.code for p in session.execute(select(Provider)).scalars()}
    assert "S1" not in by_claim  # below 20 000
    kind, provider_id, rule = by_claim["L1"]
    # SUS-1, also an appraisal agency, is suspended: never chosen.
    assert (kind, rule) == ("appraisal", "motor_appraisal_large_loss") and codes[provider_id] == least_busy
    assert by_claim["M1"][0] == "medical_records" and codes[by_claim["M1"][1]] == "HOSP-1"


def test_a_rule_file_error_names_file_and_line():
    text = "version: '1'\nrules:\n  - code: x\n    name: {zh: 甲, en: A}\n    when: {lines: [motor], enters: nowhere}\n"
    text += "    send: {kind: appraisal, provider: least_busy}\n"
    with pytest.raises(rules.TaskRuleError) as error:
        rules.parse(text, "rules.yaml")
    assert str(error.value).startswith("rules.yaml:5:") and "enters" in str(error.value)
    assert [r.code for r in rules.base_rules()] == ["motor_appraisal_large_loss", "medical_records_on_review"]


def test_a_rule_sends_no_second_task_of_a_kind_the_claim_already_has(task_world: TaskWorld):
    tw = task_world
    tw.ingest(
        [
            reported("L2-r", "L2", amount="30000.00", org_code="ACME-B1"),
            *[transition(f"L2-{i}", "L2", s, hours=1 + i) for i, s in enumerate(["accepted", "initial_review"])],
        ]
    )
    with tw.session() as session:
        task_service.send_task(session, tw.principal(), claim_number="L2", provider_code="APP-1", kind="appraisal")
    tw.ingest([transition("L2-3", "L2", "assessment", hours=4)])
    with tw.session() as session:
        tasks = session.execute(
            select(ProviderTask.kind, ProviderTask.sent_by_rule)
            .join(Claim, Claim.id == ProviderTask.claim_id)
            .where(Claim.number == "L2")
        ).all()
    assert [tuple(task) for task in tasks] == [("appraisal", None)]  # the hand-sent one only
