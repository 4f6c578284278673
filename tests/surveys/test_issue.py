"""Issuing surveys after closure: the delay, once per closure (also with two workers), a second one after
a reopening, rejected and withdrawn claims, no reachable contact, the link masked for staff, expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify import service as notify_service
from claimwatch.surveys import jobs
from claimwatch.surveys.models import Survey
from tests.factories import World
from tests.surveys.conftest import close_claim, invitations, link_token, now, reopen_and_close, surveys


def test_issued_after_the_delay_once_with_the_case_facts(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    handler = world.user("li.adjuster", Role.ADJUSTER, acme)
    closed_at = now() - dt.timedelta(hours=1)
    close_claim(client, acme, "C-1", closed_at, assignee=handler, org_code=acme.branch_code, line="medical")

    early = jobs.issue_due(now=closed_at + dt.timedelta(hours=1, minutes=59))
    assert early.issued == 0 and surveys(acme) == []

    due = closed_at + dt.timedelta(hours=2, minutes=1)
    result = jobs.issue_due(now=due)
    assert (result.claims, result.complaints, result.unreachable) == (1, 0, 0)
    assert result.by_tenant == {acme.id: 1}
    (survey,) = surveys(acme)
    assert survey.subject_key == f"claim:{survey.claim_id}:0"
    assert (survey.subject_type, survey.reference, survey.status) == ("claim", "C-1", "sent")
    assert survey.line == "medical" and survey.region_code == "440000"
    assert survey.org_unit_id is not None and survey.handler_id is not None
    assert survey.closed_at == closed_at and survey.sent_at == due
    assert survey.expires_at == due + dt.timedelta(days=30)

    # The second pass (and a third, later one) issues nothing more.
    assert jobs.issue_due(now=due + dt.timedelta(minutes=5)).issued == 0
    assert jobs.issue_due(now=due + dt.timedelta(days=3)).issued == 0
    assert len(surveys(acme)) == 1
    assert [m.channel for m in invitations(acme)] == ["sms"]  # the claimant gave a phone, no email

    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert audit_service.verify(session, acme.id).ok
        kinds = [e.kind for e in _entries(session, acme.id)]
    assert kinds.count("survey.issued") == 1


def _entries(session, tenant_id):  # type: ignore[no-untyped-def]
    from claimwatch.audit.models import AuditEntry

    return list(
        session.execute(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.seq)).scalars()
    )


def test_the_outbox_keeps_the_link_encrypted_and_staff_see_it_masked(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-1", now() - dt.timedelta(hours=3))
    jobs.issue_due()
    messages = invitations(acme)
    assert [m.channel for m in messages] == ["sms"]
    (survey,) = surveys(acme)
    for message in messages:
        assert message.idempotency_key == f"survey:{survey.id}:{message.channel}"
        assert message.status == "queued"
        token = link_token(message)
        # Only the hash is stored; the clear link appears in no column staff can read.
        assert hashlib.sha256(token.encode()).hexdigest() == survey.token_hash
        assert token not in message.body and token not in message.subject
        assert "\n******\n" in message.body and "/survey/" not in message.body
        assert "C-1" in message.body
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert survey.claim_id is not None
        shown = notify_service.messages_for_claim(session, survey.claim_id)
    shown_invitations = [m for m in shown if m["template"] == "survey_invitation"]
    assert shown_invitations and all("******" in m["body"] for m in shown_invitations)
    assert all(token not in m["body"] for m in shown_invitations)


def test_staff_api_shows_the_invitation_masked(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-1", now() - dt.timedelta(hours=3))
    jobs.issue_due()
    token = link_token(invitations(acme)[0])
    response = client.get("/api/v1/claims/C-1/messages", headers={"X-API-Key": acme.api_key})
    assert response.status_code == 200, response.text
    assert "survey_invitation" in response.text
    assert token not in response.text


def test_a_reopened_and_closed_again_claim_gets_a_second_survey(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    first_close = now() - dt.timedelta(days=3)
    close_claim(client, acme, "C-1", first_close)
    assert jobs.issue_due(now=first_close + dt.timedelta(hours=3)).claims == 1

    reopen_and_close(client, acme, "C-1", now() - dt.timedelta(hours=5))
    assert jobs.issue_due().claims == 1
    assert jobs.issue_due().claims == 0
    keys = [s.subject_key for s in surveys(acme)]
    claim_id = surveys(acme)[0].claim_id
    assert keys == [f"claim:{claim_id}:0", f"claim:{claim_id}:1"]
    assert len({m.idempotency_key for m in invitations(acme)}) == len(invitations(acme)) == 2


def test_a_claim_reopened_within_the_delay_gets_no_survey_for_the_undone_closure(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    first_close = now() - dt.timedelta(hours=6)
    close_claim(client, acme, "C-1", first_close)
    # Reopened an hour after closing, before any pass ran, and still open: nothing to survey.
    ingest_reopen = [
        {
            "event_id": "C-1-re",
            "claim_number": "C-1",
            "type": "transition",
            "to_status": "reopened",
            "reason": "客户补充发票",
            "occurred_at": (first_close + dt.timedelta(hours=1)).isoformat(),
        }
    ]
    response = client.post("/api/v1/events", json={"events": ingest_reopen}, headers={"X-API-Key": acme.api_key})
    assert response.status_code == 201, response.text
    assert jobs.issue_due().issued == 0


def test_rejected_claims_are_surveyed_withdrawn_ones_are_not(world: World, client: TestClient, monkeypatch):
    acme = world.tenant("ACME", "示例保险")
    closed_at = now() - dt.timedelta(hours=4)
    close_claim(client, acme, "C-OK", closed_at)
    close_claim(client, acme, "C-REJ", closed_at, end="rejected")
    close_claim(client, acme, "C-WD", closed_at, end="withdrawn")

    from claimwatch.config import get_settings

    monkeypatch.setenv("CLAIMWATCH_SURVEY_REJECTED_CLAIMS", "false")
    get_settings.cache_clear()
    assert jobs.issue_due().claims == 1
    assert [s.reference for s in surveys(acme)] == ["C-OK"]

    monkeypatch.delenv("CLAIMWATCH_SURVEY_REJECTED_CLAIMS")
    get_settings.cache_clear()
    assert jobs.issue_due().claims == 1  # the default: rejected claims are rated too
    assert sorted(s.reference for s in surveys(acme)) == ["C-OK", "C-REJ"]


def test_no_reachable_contact_is_counted_as_unreachable(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-NOPHONE", now() - dt.timedelta(hours=3), claimant={"name": "王五"})
    result = jobs.issue_due()
    assert (result.claims, result.unreachable) == (1, 1)
    (survey,) = surveys(acme)
    assert survey.status == "unreachable"
    assert invitations(acme) == []


def test_opted_out_everywhere_is_unreachable(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-1", now() - dt.timedelta(hours=3))
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        notify_service.opt_out(session, acme.id, "13812345678", "*", "test")
    result = jobs.issue_due()
    assert result.unreachable == 1
    assert surveys(acme)[0].status == "unreachable"
    assert {m.status for m in invitations(acme)} == {"opted_out"}


def test_closures_outside_the_lookback_are_left_alone(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-OLD", now() - dt.timedelta(days=40))
    close_claim(client, acme, "C-NEW", now() - dt.timedelta(days=10))
    assert jobs.issue_due(lookback_days=30).claims == 1
    assert [s.reference for s in surveys(acme)] == ["C-NEW"]
    assert jobs.issue_due(lookback_days=60).claims == 1


def test_tenants_are_issued_separately(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    close_claim(client, acme, "SAME-1", now() - dt.timedelta(hours=3))
    close_claim(client, bbb, "SAME-1", now() - dt.timedelta(hours=3))
    result = jobs.issue_due()
    assert result.by_tenant == {acme.id: 1, bbb.id: 1}
    assert [s.tenant_id for s in surveys(acme)] == [acme.id]
    assert [s.tenant_id for s in surveys(bbb)] == [bbb.id]


def test_two_workers_at_once_issue_each_survey_once(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    closed_at = now() - dt.timedelta(hours=3)
    for i in range(6):
        close_claim(client, acme, f"C-{i}", closed_at)
    at = now()
    results: list[jobs.IssueResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(jobs.issue_due(now=at))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sum(r.claims for r in results) == 6
    with unit_of_work(TenantContext(tenant_id=acme.id, read_only=True)) as session:
        assert session.execute(select(func.count()).select_from(Survey)).scalar_one() == 6
    keys = [m.idempotency_key for m in invitations(acme)]
    assert len(keys) == len(set(keys)) == 6


def test_unanswered_surveys_expire(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-1", now() - dt.timedelta(hours=3))
    sent = now()
    jobs.issue_due(now=sent)
    assert jobs.issue_due(now=sent + dt.timedelta(days=29)).expired == 0
    assert surveys(acme)[0].status == "sent"
    assert jobs.issue_due(now=sent + dt.timedelta(days=30, seconds=1)).expired == 1
    assert surveys(acme)[0].status == "expired"
    assert jobs.issue_due(now=sent + dt.timedelta(days=31)).expired == 0


def test_the_worker_issues_surveys_at_most_once_per_interval(world: World, client: TestClient, monkeypatch):
    """`claimwatch worker` issues surveys on its own (after the SLA and complaint sweeps), and only every
    CLAIMWATCH_SURVEY_ISSUE_INTERVAL_SECONDS: a second pass straight after finds the issuing not yet due."""
    from claimwatch import worker
    from claimwatch.config import get_settings

    monkeypatch.setenv("CLAIMWATCH_SURVEY_ISSUE_INTERVAL_SECONDS", "3600")
    get_settings.cache_clear()
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "W-1", now() - dt.timedelta(hours=5))
    calls = []
    real_issue = jobs.issue_due

    def counted(now=None, lookback_days=30):  # type: ignore[no-untyped-def]
        calls.append(now)
        return real_issue(now=now, lookback_days=lookback_days)

    monkeypatch.setattr(jobs, "issue_due", counted)
    assert worker.run(interval=0.01, passes=2, kpi=False) == 2
    assert len(calls) == 1
    assert [(s.reference, s.status) for s in surveys(acme)] == [("W-1", "sent")]
