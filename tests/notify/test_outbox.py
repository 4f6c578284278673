"""The claimant outbox: messages written with the change that causes them, delivered over real SMTP
and a signed webhook on loopback, retried with backoff, dead-lettered, alerted, resent; opt-outs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.notify import jobs, service, staff_notices
from claimwatch.notify.channels import message_id_header
from claimwatch.notify.models import OutboxMessage, StaffNotification
from claimwatch.tenancy.service import zone_named
from tests.factories import reported, transition

EMAIL = "zhang.sanfeng@example.cn"


def _headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _report(client: Any, tenant: Any, number: str = "CLM-1", **claim: Any) -> None:
    event = reported(f"{number}-r", number, **claim)
    event["claim"]["claimant"]["email"] = EMAIL
    response = client.post("/api/v1/events", json=event, headers=_headers(tenant.api_key))
    assert response.status_code == 201, response.text


def _messages(tenant_id: int) -> list[OutboxMessage]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def _claim_id(tenant_id: int, number: str) -> int:
    from claimwatch.cases import repository

    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        claim = repository.claim_by_number(session, number)
        assert claim is not None
        return claim.id


def _no_personal_data(text: str) -> None:
    assert "110101199003071234" not in text
    assert "13812345678" not in text
    assert EMAIL not in text


def test_report_acknowledges_with_expected_date_and_lookup(client, world):
    tenant = world.tenant()
    _report(client, tenant)
    messages = _messages(tenant.id)
    assert sorted(m.channel for m in messages) == ["email", "sms", "webhook"]
    ack = messages[0]
    assert ack.template == "acknowledgement" and ack.status == "queued" and ack.about_status == "reported"
    assert ack.idempotency_key.startswith("evt:CLM-1-r:")
    assert "CLM-1" in ack.subject
    # The insurer's own lookup page, so the claimant lands on it.
    assert f"https://claims.example.cn/lookup/{tenant.code}" in ack.body and "CLM-1" in ack.body
    assert re.search(r"预计办结日期：\d{4}-\d{2}-\d{2}", ack.body), ack.body
    assert "张**" in ack.body
    _no_personal_data(ack.subject + ack.body)
    # the address is encrypted at rest
    assert all(m.recipient_enc is None or m.recipient_enc.startswith("v1:") for m in messages)

    # the expected date is the timeliness clock's yellow due date, in Shanghai time
    from claimwatch.sla import repository as sla_repository

    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        clocks = sla_repository.clocks_for_claims(session, [ack.claim_id])
    due = next(c.yellow_due_at for c in clocks if c.policy_code.startswith("timeliness_"))
    assert due is not None
    assert service.local_due_date(due, zone=zone_named("Asia/Shanghai")) in ack.body


def test_progress_messages_follow_the_workflow_flag(client, world):
    tenant = world.tenant()
    _report(client, tenant)
    path = ["accepted", "initial_review", "investigation", "assessment", "verification", "approval", "payment"]
    events = [transition(f"t{i}", "CLM-1", status, hours=i + 1) for i, status in enumerate(path)]
    response = client.post("/api/v1/events", json={"events": events}, headers=_headers(tenant.api_key))
    assert response.status_code == 201, response.text
    about = [m.about_status for m in _messages(tenant.id) if m.channel == "sms"]
    # verification and approval are internal steps (notify_claimant: false)
    assert about == ["reported", "accepted", "initial_review", "investigation", "assessment", "payment"]
    payment = [m for m in _messages(tenant.id) if m.about_status == "payment" and m.channel == "sms"][0]
    assert "支付" in payment.subject and "CLM-1" in payment.body


def test_a_rejected_batch_writes_no_message(client, world):
    tenant = world.tenant()
    _report(client, tenant)
    before = len(_messages(tenant.id))
    bad = [transition("ok", "CLM-1", "accepted"), transition("bad", "CLM-1", "closed", hours=2)]
    response = client.post("/api/v1/events", json={"events": bad}, headers=_headers(tenant.api_key))
    assert response.status_code == 422
    assert len(_messages(tenant.id)) == before


def test_delivery_over_smtp_and_signed_webhook(client, world, smtp, webhook):
    tenant = world.tenant()
    _report(client, tenant)
    result = jobs.deliver()
    assert result.claimed == 3 and result.failed == 0
    statuses = {m.channel: m.status for m in _messages(tenant.id)}
    assert statuses == {"email": "sent", "sms": "sent", "webhook": "delivered"}
    email_row = next(m for m in _messages(tenant.id) if m.channel == "email")
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail.to == EMAIL
    assert mail.idempotency_key == email_row.idempotency_key
    assert mail.message_id == message_id_header(email_row.idempotency_key, tenant.id, "insurer.example")
    assert "CLM-1" in mail.subject and "https://claims.example.cn/lookup" in mail.body
    assert len(webhook.received) == 1
    hook = webhook.received[0]
    assert hook.signature_ok
    assert hook.idempotency_key.endswith(":webhook")
    # nothing left to send
    assert jobs.deliver().claimed == 0


def test_retries_backoff_dead_letter_alert_and_resend(client, world, webhook):
    tenant = world.tenant()
    admin_key = world.api_key(tenant, Role.ADMIN)
    adjuster_key = world.api_key(tenant, Role.ADJUSTER)
    webhook.status = 500
    _report(client, tenant)
    # Deliver at noon (the tenant's Asia/Shanghai) of the next day, whatever the hour the test runs, so that
    # "the same day" below never crosses the local midnight; the queued messages are due by then.
    tomorrow = utc_now().astimezone(zone_named("Asia/Shanghai")) + dt.timedelta(days=1)
    now = tomorrow.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    first = jobs.deliver(now=now)
    assert first.failed == 1  # the webhook; sms and email went out
    hook = next(m for m in _messages(tenant.id) if m.channel == "webhook")
    assert hook.status == "failed" and hook.attempts == 1 and "HTTP 500" in (hook.last_error or "")
    assert hook.next_attempt_at is not None
    assert abs((hook.next_attempt_at - now).total_seconds() - 60) < 5
    # not due before the backoff has passed
    assert jobs.deliver(now=now + dt.timedelta(seconds=30)).claimed == 0
    second = jobs.deliver(now=now + dt.timedelta(seconds=61))
    assert second.failed == 1
    hook = next(m for m in _messages(tenant.id) if m.channel == "webhook")
    assert abs((hook.next_attempt_at - now).total_seconds() - (61 + 120)) < 5  # type: ignore[operator]
    third = jobs.deliver(now=now + dt.timedelta(seconds=61 + 121))
    assert third.dead == 1 and third.alerts == 1
    hook = next(m for m in _messages(tenant.id) if m.channel == "webhook")
    assert hook.status == "dead" and hook.attempts == 3 and hook.next_attempt_at is None

    # one admin alert per day, listing the failure
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        alerts = list(
            session.execute(select(StaffNotification).where(StaffNotification.kind == "notify_failures")).scalars()
        )
    assert len(alerts) == 1 and alerts[0].recipient_role == "admin"
    assert "CLM-1" in alerts[0].body and alerts[0].dedupe_key.startswith("notify-failures:")

    failures = client.get("/api/v1/notify/failures", headers=_headers(admin_key))
    assert failures.status_code == 200 and [f["id"] for f in failures.json()] == [hook.id]
    assert client.get("/api/v1/notify/failures", headers=_headers(adjuster_key)).status_code == 403

    # a second claim's failure the same day: still one alert
    _report(client, tenant, "CLM-2")
    for step in range(3):
        jobs.deliver(now=now + dt.timedelta(hours=1 + step))
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        alerts = list(
            session.execute(select(StaffNotification).where(StaffNotification.kind == "notify_failures")).scalars()
        )
    assert len(alerts) == 1 and "CLM-2" in alerts[0].body

    # staff resend: one by id, then every failed/dead one
    webhook.status = 200
    response = client.post(f"/api/v1/notify/messages/{hook.id}/resend", headers=_headers(admin_key))
    assert response.status_code == 200 and response.json()["status"] == "queued"
    again = client.post(f"/api/v1/notify/messages/{hook.id}/resend", headers=_headers(admin_key))
    assert again.status_code == 409
    assert [p["field"] for p in again.json()["problems"]] == ["status"], again.json()  # the one error body
    response = client.post("/api/v1/notify/resend", headers=_headers(admin_key))
    assert response.status_code == 200 and response.json() == {"requeued": 1}
    jobs.deliver()
    assert {m.status for m in _messages(tenant.id) if m.channel == "webhook"} == {"delivered"}
    assert len(webhook.received) == 2 and all(r.signature_ok for r in webhook.received)


def test_opt_out_is_honoured(client, world, smtp):
    tenant = world.tenant()
    admin_key = world.api_key(tenant, Role.ADMIN)
    _report(client, tenant)
    response = client.post(
        "/api/v1/notify/opt-outs",
        json={"address": "138-1234-5678", "channel": "sms", "reason": "客户来电要求"},
        headers=_headers(admin_key),
    )
    assert response.status_code == 201, response.text
    # the queued SMS is not sent; later ones are written as opted out
    assert next(m for m in _messages(tenant.id) if m.channel == "sms").status == "opted_out"
    client.post("/api/v1/events", json=transition("t1", "CLM-1", "accepted"), headers=_headers(tenant.api_key))
    jobs.deliver()
    sms = [m.status for m in _messages(tenant.id) if m.channel == "sms"]
    assert sms == ["opted_out", "opted_out"]
    assert len(smtp.received) == 2  # email is still wanted
    # every channel, by email address
    response = client.post(
        "/api/v1/notify/opt-outs", json={"address": EMAIL.upper(), "channel": "*"}, headers=_headers(admin_key)
    )
    assert response.status_code == 201
    client.post(
        "/api/v1/events", json=transition("t2", "CLM-1", "initial_review", hours=2), headers=_headers(tenant.api_key)
    )
    jobs.deliver()
    assert next(m for m in reversed(_messages(tenant.id)) if m.channel == "email").status == "opted_out"
    assert len(smtp.received) == 2


def test_materials_notice_lists_every_missing_item(client, world):
    tenant = world.tenant()
    _report(client, tenant)
    headers = _headers(tenant.api_key)
    response = client.put(
        "/api/v1/claims/CLM-1/materials/profile", json={"claim_type": "vehicle_damage", "facts": []}, headers=headers
    )
    assert response.status_code == 200, response.text
    missing = client.get("/api/v1/claims/CLM-1/materials", headers=headers).json()
    labels = [item["label"] for item in missing["items"] if item["missing"]]
    assert labels
    assert client.post("/api/v1/claims/CLM-1/materials/notices", headers=headers).status_code in (200, 201)
    notice = [m for m in _messages(tenant.id) if m.template == "materials_notice" and m.channel == "sms"]
    assert len(notice) == 1
    for label in labels:
        assert label in notice[0].body
    assert notice[0].idempotency_key == "materials:CLM-1:1:sms"
    _no_personal_data(notice[0].body)


def test_enqueue_is_idempotent_and_otp_is_masked_for_staff(client, world, smtp):
    tenant = world.tenant()
    _report(client, tenant)
    claim_id = _claim_id(tenant.id, "CLM-1")
    for _ in range(2):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            rows = service.enqueue(
                session,
                tenant_id=tenant.id,
                claim_id=claim_id,
                template="lookup_otp",
                context={"code": "480213", "minutes": 10},
                channels=["email"],
                idempotency_key="otp:1",
            )
            ids = [row.id for row in rows]
    assert len(ids) == 1
    assert len([m for m in _messages(tenant.id) if m.template == "lookup_otp"]) == 1
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        shown = [m for m in service.messages_for_claim(session, claim_id) if m["template"] == "lookup_otp"][0]
    assert "480213" not in shown["body"] and "******" in shown["body"]
    assert shown["recipient"] == "z***@example.cn"
    stored = next(m for m in _messages(tenant.id) if m.template == "lookup_otp")
    assert "480213" not in stored.body + stored.subject and "480213" not in (stored.secret_body_enc or "")
    jobs.deliver()
    otp_mail = next(r for r in smtp.received if r.idempotency_key == "otp:1:email")
    assert "480213" in otp_mail.body and "10" in otp_mail.body


def test_staff_api_shows_messages_and_tenants_are_isolated(client, world):
    tenant = world.tenant()
    other = world.tenant("OTHER", "另一家")
    _report(client, tenant)
    response = client.get("/api/v1/claims/CLM-1/messages", headers=_headers(tenant.api_key))
    assert response.status_code == 200
    body = response.json()
    assert {m["channel"] for m in body} == {"sms", "email", "webhook"}
    sms = next(m for m in body if m["channel"] == "sms")
    assert sms["recipient"] == "138********" and sms["status"] == "queued"
    assert "13812345678" not in response.text and EMAIL not in response.text
    assert client.get("/api/v1/claims/CLM-1/messages", headers=_headers(other.api_key)).status_code == 404
    message_id = sms["id"]
    other_admin = world.api_key(other, Role.ADMIN)
    assert client.post(f"/api/v1/notify/messages/{message_id}/resend", headers=_headers(other_admin)).status_code == 404


def test_proactive_notification_rate(client, world, webhook):
    tenant = world.tenant()
    _report(client, tenant, "CLM-1")
    _report(client, tenant, "CLM-2")
    jobs.deliver()
    response = client.get("/api/v1/notify/kpi/proactive-rate", headers=_headers(tenant.api_key))
    assert response.status_code == 200, response.text
    assert response.json()["claims"] == 2 and response.json()["rate"] == 1.0
    # CLM-2's next message fails on every channel: it no longer counts as fully notified
    webhook.status = 500
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        session.execute(OutboxMessage.__table__.delete())  # type: ignore[attr-defined]
    kpi = client.get("/api/v1/notify/kpi/proactive-rate", headers=_headers(tenant.api_key)).json()
    assert kpi["rate"] == 0.0 and kpi["status_changes"] == 2 and kpi["status_changes_notified"] == 0
    client.post("/api/v1/events", json=transition("a1", "CLM-1", "accepted"), headers=_headers(tenant.api_key))
    jobs.deliver()
    kpi = client.get(
        "/api/v1/notify/kpi/proactive-rate",
        params={"since": "2026-11-02T09:30:00+08:00"},
        headers=_headers(tenant.api_key),
    ).json()
    assert kpi["claims"] == 1 and kpi["rate"] == 1.0
    assert (
        client.get(
            "/api/v1/notify/kpi/proactive-rate", params={"org": "NOPE"}, headers=_headers(tenant.api_key)
        ).status_code
        == 404
    )


def test_a_staff_notice_is_queued_once_per_dedupe_key(world):
    tenant = world.tenant()
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert staff_notices.notify_staff(session, tenant.id, "admin", "k", "subject", "body", "once", now) is True
        # The second writer is told it queued nothing, on SQLite and on PostgreSQL alike.
        assert staff_notices.notify_staff(session, tenant.id, "admin", "k", "subject", "body", "once", now) is False
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        rows = session.execute(select(StaffNotification).where(StaffNotification.dedupe_key == "once")).all()
    assert len(rows) == 1


def test_a_whole_day_deadline_is_told_as_its_last_day():
    """A deadline of whole days ends at the local midnight closing its last day: the claimant is told
    that day, not the next (an hours deadline keeps its own day)."""
    import datetime as dt

    cst = dt.timezone(dt.timedelta(hours=8))
    assert (
        service.local_due_date(dt.datetime(2026, 12, 2, 0, 0, tzinfo=cst), zone=zone_named("Asia/Shanghai"))
        == "2026-12-01"
    )
    assert (
        service.local_due_date(dt.datetime(2026, 12, 2, 9, 30, tzinfo=cst), zone=zone_named("Asia/Shanghai"))
        == "2026-12-02"
    )
    assert service.local_due_date(None, zone=zone_named("Asia/Shanghai")) is None


def test_message_dates_are_in_the_insurers_time_zone(client, world):
    """The acknowledgement's dates were in the platform zone (Shanghai) whatever the insurer's own zone."""
    from claimwatch.tenancy.models import Tenant

    tenant = world.tenant()
    with unit_of_work(TenantContext.system_context()) as session:
        found = session.get(Tenant, tenant.id)
        assert found is not None
        found.timezone = "Asia/Urumqi"  # UTC+6
    event = reported("CLM-Z-r", "CLM-Z", hours=-9)  # 2026-11-02 00:00 in Shanghai, 2026-11-01 22:00 in Urumqi
    response = client.post("/api/v1/events", json=event, headers=_headers(tenant.api_key))
    assert response.status_code == 201, response.text
    ack = next(m for m in _messages(tenant.id) if m.template == "acknowledgement" and m.channel == "sms")
    assert "2026-11-01 22:00" in ack.body, ack.body
