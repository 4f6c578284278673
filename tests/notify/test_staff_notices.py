"""Staff notices delivered: the SLA sweep's escalation reaches the supervisor of the claim's subtree in
the in-app inbox and in a real SMTP mailbox on loopback; preferences, digest, read/unread, isolation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify import channels, jobs, service, staff_notices
from claimwatch.notify.models import OutboxMessage, StaffNotification
from claimwatch.sla import jobs as sla_jobs
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported
from tests.notify.staff_helpers import RobotReceiver, Staff, add_branch, add_staff, csrf, inbox_of, signed_in
from tests.sla.helpers import local, post_events
from tests.snapshots import Snapshot


def _client() -> TestClient:
    # The public address is https here, so session cookies are Secure: talk https to the test app.
    return TestClient(shared_app(), base_url="https://testserver")


YELLOW_AT = local(2026, 11, 3, 10)  # a 3000 motor claim reported 11-02 09:00 is past its 24 h yellow


def _world(world):  # type: ignore[no-untyped-def]
    tenant = world.tenant()
    add_branch(tenant, "ACME-B2")
    gd = add_staff(tenant, "gd.supervisor", Role.SUPERVISOR, tenant.branch_code, "gd.sup@insurer.example")
    zj = add_staff(tenant, "zj.supervisor", Role.SUPERVISOR, "ACME-B2", "zj.sup@insurer.example")
    hq = add_staff(tenant, "hq.supervisor", Role.SUPERVISOR, "ACME-HQ", "hq.sup@insurer.example")
    adjuster = add_staff(tenant, "gd.adjuster", Role.ADJUSTER, tenant.branch_code, "gd.adj@insurer.example")
    return tenant, gd, zj, hq, adjuster


@pytest.fixture
def staff(world: World, db_snapshot: Snapshot) -> tuple[TenantHandle, Staff, Staff, Staff, Staff]:
    """The tenant and its staff of ``_world``, built once per worker and database kind."""
    return db_snapshot("notify.staff_notices_world", lambda: _world(world))


def _escalate(client, tenant, number: str = "S-1"):  # type: ignore[no-untyped-def]
    post_events(client, tenant.api_key, [reported(f"{number}-r", number, org_code=tenant.branch_code, amount="3000")])
    assert sla_jobs.sweep(now=YELLOW_AT).yellow == 1


def test_an_sla_escalation_reaches_the_supervisors_inbox_and_mailbox(client, world, staff, smtp):
    tenant, gd, zj, hq, adjuster = staff
    _escalate(client, tenant)

    result = jobs.deliver(now=YELLOW_AT)
    assert result.routed == 1 and result.sent == 2, result  # gd + hq supervisors by e-mail

    # in-app: the branch's supervisor and head office's (above it); not the other branch, not the adjuster
    inbox = inbox_of(tenant.id, gd.user_id)
    assert len(inbox) == 1 and inbox[0].kind == "sla_yellow" and inbox[0].read_at is None
    assert len(inbox_of(tenant.id, hq.user_id)) == 1
    assert inbox_of(tenant.id, zj.user_id) == [] and inbox_of(tenant.id, adjuster.user_id) == []

    # e-mail: really accepted by the SMTP server, to the supervisors' addresses only
    to = sorted(m.to or "" for m in smtp.received)
    assert to == ["gd.sup@insurer.example", "hq.sup@insurer.example"]
    mail = next(m for m in smtp.received if m.to == "gd.sup@insurer.example")
    assert "S-1" in mail.subject and "黄灯" in mail.subject
    assert "https://claims.example.cn/claims/S-1" in mail.body
    assert "https://claims.example.cn/notifications/settings" in mail.body
    for text in (mail.subject, mail.body):
        assert "张三丰" not in text and "13812345678" not in text and "110101199003071234" not in text

    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        notice = session.execute(select(StaffNotification)).scalar_one()
        assert notice.status == "routed" and notice.routed_at is not None
        rows = list(session.execute(select(OutboxMessage).where(OutboxMessage.template == "staff_notice")).scalars())
    assert {r.status for r in rows} == {"sent"} and all(r.claim_id is None for r in rows)
    assert all(r.recipient_enc and "insurer.example" not in r.recipient_enc for r in rows)  # encrypted at rest

    # idempotent: further passes neither route nor send again
    again = jobs.deliver(now=YELLOW_AT + dt.timedelta(minutes=5))
    assert again.routed == 0 and again.claimed == 0 and len(smtp.received) == 2
    assert len(inbox_of(tenant.id, gd.user_id)) == 1

    # the supervisor sees it under the bell and on the page, linked to the claim
    browser = signed_in(_client(), "gd.supervisor")
    badge = browser.get("/notifications/badge")
    assert badge.status_code == 200 and 'id="bell-count">1<' in badge.text
    page = browser.get("/notifications")
    assert page.status_code == 200 and 'href="/claims/S-1"' in page.text and "S-1" in page.text
    other = signed_in(_client(), "zj.supervisor")
    assert "bell-count" not in other.get("/notifications/badge").text
    assert "S-1" not in other.get("/notifications").text


def test_routing_twice_writes_nothing_new(client, world, staff, smtp):
    tenant, gd, *_ = staff
    _escalate(client, tenant)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        first = staff_notices.route_staff_notices(session, tenant.id, YELLOW_AT, 100)
        notice = session.execute(select(StaffNotification)).scalar_one()
        notice.status = "queued"  # as if a worker died after writing but before its commit was seen
        second = staff_notices.route_staff_notices(session, tenant.id, YELLOW_AT, 100)
    assert first.inbox == second.inbox == 2
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        emails = session.execute(select(OutboxMessage).where(OutboxMessage.template == "staff_notice")).all()
    assert len(emails) == 2 and len(inbox_of(tenant.id, gd.user_id)) == 1


def test_a_notice_to_one_user_reaches_only_that_user(client, world, staff, smtp):
    tenant, gd, zj, hq, _ = staff
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert staff_notices.notify_staff(
            session, tenant.id, "supervisor", "sla_red", "仅此一人", "正文", "one-user", YELLOW_AT, user_id=zj.user_id
        )
    jobs.deliver(now=YELLOW_AT)
    assert len(inbox_of(tenant.id, zj.user_id)) == 1
    assert inbox_of(tenant.id, gd.user_id) == inbox_of(tenant.id, hq.user_id) == []
    assert [m.to for m in smtp.received] == ["zj.sup@insurer.example"]


def test_preference_off_sends_no_email_but_keeps_the_inbox(client, world, staff, smtp):
    tenant, gd, *_ = staff
    api = signed_in(_client(), "gd.supervisor")
    response = api.put("/api/v1/notifications/preferences", json={"email": {"sla_yellow": "off"}})
    assert response.status_code == 200, response.text
    assert next(k for k in response.json()["kinds"] if k["kind"] == "sla_yellow")["email"] == "off"
    bad = api.put("/api/v1/notifications/preferences", json={"email": {"sla_yellow": "sometimes"}})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "email.sla_yellow"

    _escalate(client, tenant)
    jobs.deliver(now=YELLOW_AT)
    assert len(inbox_of(tenant.id, gd.user_id)) == 1
    assert "gd.sup@insurer.example" not in [m.to for m in smtp.received]
    assert "hq.sup@insurer.example" in [m.to for m in smtp.received]  # defaults still e-mail the others


def test_the_daily_digest_gathers_and_sends_once_per_day(client, world, staff, smtp, monkeypatch):
    monkeypatch.setenv("CLAIMWATCH_STAFF_DIGEST_HOUR", "18")
    from claimwatch.config import get_settings

    get_settings.cache_clear()
    tenant, gd, *_ = staff
    api = signed_in(_client(), "gd.supervisor")
    assert (
        api.put(
            "/api/v1/notifications/preferences", json={"email": {"sla_yellow": "digest"}, "locale": "en"}
        ).status_code
        == 200
    )
    post_events(
        client,
        tenant.api_key,
        [reported(f"D-{i}-r", f"D-{i}", org_code=tenant.branch_code, amount="3000") for i in (1, 2)],
    )
    assert sla_jobs.sweep(now=YELLOW_AT).yellow == 2
    jobs.deliver(now=YELLOW_AT)  # 10:00 local: routed, held for the digest
    assert "gd.sup@insurer.example" not in [m.to for m in smtp.received]
    assert [i.digest for i in inbox_of(tenant.id, gd.user_id)] == ["held", "held"]

    evening = local(2026, 11, 3, 18, 5)
    first = jobs.deliver(now=evening)
    assert first.digests == 1
    digests = [m for m in smtp.received if m.to == "gd.sup@insurer.example"]
    assert len(digests) == 1
    assert "2026-11-03" in digests[0].subject and "Digest" in digests[0].subject  # the user chose English
    assert "D-1" in digests[0].body and "D-2" in digests[0].body
    assert [i.digest for i in inbox_of(tenant.id, gd.user_id)] == ["sent", "sent"]

    # a notice arriving later that day waits for tomorrow's digest: still one e-mail today
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        staff_notices.notify_staff(session, tenant.id, "supervisor", "sla_yellow", "D-3 later", "x", "late", evening)
    jobs.deliver(now=local(2026, 11, 3, 19))
    jobs.deliver(now=local(2026, 11, 3, 20))
    assert len([m for m in smtp.received if m.to == "gd.sup@insurer.example"]) == 1
    jobs.deliver(now=local(2026, 11, 4, 18, 1))
    tomorrow = [m for m in smtp.received if m.to == "gd.sup@insurer.example"]
    assert len(tomorrow) == 2 and "D-3 later" in tomorrow[1].body and "D-1" not in tomorrow[1].body


def test_read_unread_and_mark_all(client, world, staff, smtp):
    tenant, gd, *_ = staff
    _escalate(client, tenant)
    post_events(client, tenant.api_key, [reported("S-2-r", "S-2", org_code=tenant.branch_code, amount="3000")])
    sla_jobs.sweep(now=YELLOW_AT)
    jobs.deliver(now=YELLOW_AT)
    api = signed_in(_client(), "gd.supervisor")
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    items = api.get("/api/v1/notifications").json()
    assert [i["unread"] for i in items] == [True, True] and items[0]["link"].startswith("/claims/")

    read = api.post(f"/api/v1/notifications/{items[0]['id']}/read")
    assert read.status_code == 200 and read.json()["unread"] is False
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    assert [i["id"] for i in api.get("/api/v1/notifications?unread=true").json()] == [items[1]["id"]]
    again = api.post(f"/api/v1/notifications/{items[0]['id']}/read", json={"read": False})
    assert again.json()["unread"] is True

    # the page's form marks all read
    token = csrf(api)
    done = api.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    page = api.get("/notifications?unread=1")
    assert 'id="no-notifications"' in page.text
    # one marked unread again through the page form
    token = csrf(api)
    api.post(f"/notifications/{items[1]['id']}/read", data={"csrf_token": token, "read": "0"}, follow_redirects=False)
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    # no CSRF token: refused, nothing changed
    refused = api.post(f"/notifications/{items[1]['id']}/read", data={"read": "1"}, follow_redirects=False)
    assert refused.status_code == 403
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 1}


def test_no_one_reads_or_marks_anothers_notifications(client, world, staff, smtp):
    tenant, gd, zj, hq, _ = staff
    other_tenant = world.tenant("BETA", "另一保险")
    beta = add_staff(other_tenant, "beta.supervisor", Role.SUPERVISOR, None, "beta@other.example")
    _escalate(client, tenant)
    jobs.deliver(now=YELLOW_AT)
    gd_item = inbox_of(tenant.id, gd.user_id)[0].id

    zj_api = signed_in(_client(), "zj.supervisor")
    assert zj_api.post(f"/api/v1/notifications/{gd_item}/read").status_code == 404  # same tenant, not theirs
    assert zj_api.get("/api/v1/notifications").json() == []
    beta_api = signed_in(_client(), "beta.supervisor")
    assert beta_api.post(f"/api/v1/notifications/{gd_item}/read").status_code == 404  # other tenant
    token = csrf(beta_api)
    page = beta_api.post(f"/notifications/{gd_item}/read", data={"csrf_token": token}, follow_redirects=False)
    assert page.status_code == 404
    assert beta_api.post("/api/v1/notifications/read-all").json() == {"marked": 0}
    assert inbox_of(tenant.id, gd.user_id)[0].read_at is None
    assert inbox_of(other_tenant.id, beta.user_id) == []
    # an API key (no user) has no notifications; a regulator's bell is empty
    keyed = client.get("/api/v1/notifications", headers={"X-API-Key": tenant.api_key})
    assert keyed.status_code == 403


def test_admins_set_email_addresses_and_bad_ones_are_refused(client, world, staff):
    tenant, gd, *_ = staff
    admin = world.api_key(tenant, Role.ADMIN)
    headers = {"X-API-Key": admin}
    ok = client.put("/api/v1/users/gd.supervisor/email", json={"email": "new.gd@insurer.example"}, headers=headers)
    assert ok.status_code == 200 and ok.json()["email"] == "new.gd@insurer.example"
    bad = client.put("/api/v1/users/gd.supervisor/email", json={"email": "not-an-address"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "email"
    missing = client.put("/api/v1/users/nobody/email", json={"email": "a@b.example"}, headers=headers)
    assert missing.status_code == 404
    supervisor = world.api_key(tenant, Role.SUPERVISOR)
    denied = client.put(
        "/api/v1/users/gd.supervisor/email", json={"email": "x@y.example"}, headers={"X-API-Key": supervisor}
    )
    assert denied.status_code == 403
    other = world.tenant("BETA", "另一保险")
    other_admin = world.api_key(other, Role.ADMIN)
    cross = client.put(
        "/api/v1/users/gd.supervisor/email", json={"email": "x@y.example"}, headers={"X-API-Key": other_admin}
    )
    assert cross.status_code == 404


# -- group robots -------------------------------------------------------------------------------------


@pytest.fixture
def robot():  # type: ignore[no-untyped-def]
    receiver = RobotReceiver().start()
    yield receiver
    receiver.stop()


def test_wecom_and_dingtalk_robots_get_their_own_formats_signed(client, world, staff, smtp, robot):
    tenant, *_ = staff
    admin = {"X-API-Key": world.api_key(tenant, Role.ADMIN)}
    wecom_url = robot.url("/cgi-bin/webhook/send?key=WECOM-KEY-123")
    ding_url = robot.url("/robot/send?access_token=DING-TOKEN-456")
    secret = "SEC0123456789abcdef"
    wecom = client.put(
        "/api/v1/notify/robots",
        json={"name": "广东理赔群", "provider": "wecom", "url": wecom_url, "org": "ACME-B1"},
        headers=admin,
    )
    assert wecom.status_code == 200, wecom.text
    assert "WECOM-KEY-123" not in wecom.text and wecom.json()["url"].endswith("?***")  # the token is not shown
    ding = client.put(
        "/api/v1/notify/robots",
        json={"name": "浙江督办群", "provider": "dingtalk", "url": ding_url, "secret": secret, "org": "ACME-B2"},
        headers=admin,
    )
    assert ding.status_code == 200 and ding.json()["signed"] is True
    hq_ding = client.put(
        "/api/v1/notify/robots",
        json={"name": "总部群", "provider": "dingtalk", "url": ding_url, "secret": secret, "kinds": ["sla_red"]},
        headers=admin,
    )
    assert hq_ding.status_code == 200
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        from claimwatch.notify.models import NotifyRobot

        stored = session.execute(select(NotifyRobot.url_enc, NotifyRobot.secret_enc)).all()
    assert all("TOKEN" not in url and "KEY" not in url and secret not in (sec or "") for url, sec in stored)

    _escalate(client, tenant)  # a yellow light in ACME-B1: only the Guangdong WeCom group
    jobs.deliver(now=YELLOW_AT)
    assert [hit.path for hit in robot.hits] == ["/cgi-bin/webhook/send"]
    hit = robot.hits[0]
    assert hit.query == {"key": "WECOM-KEY-123"}
    assert hit.payload["msgtype"] == "markdown" and set(hit.payload["markdown"]) == {"content"}
    assert (
        "S-1" in hit.payload["markdown"]["content"]
        and "https://claims.example.cn/claims/S-1" in hit.payload["markdown"]["content"]
    )

    # a red notice in ACME-B2 goes to the Zhejiang DingTalk group and to head office's (kinds: sla_red)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        from claimwatch.tenancy import repository as tenancy_repository

        b2 = tenancy_repository.org_unit_by_code(session, "ACME-B2")
        assert b2 is not None
        staff_notices.notify_staff(
            session, tenant.id, "supervisor", "sla_red", "Z-9 红灯", "请督办", "red-b2", YELLOW_AT, org_unit_id=b2.id
        )
    before = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    jobs.deliver(now=YELLOW_AT)
    ding_hits = [h for h in robot.hits if h.path == "/robot/send"]
    assert len(ding_hits) == 2
    for hit in ding_hits:
        assert hit.query["access_token"] == "DING-TOKEN-456"
        stamp = int(hit.query["timestamp"])
        assert before - 1000 <= stamp <= int(dt.datetime.now(dt.UTC).timestamp() * 1000) + 1000
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        assert hit.query["sign"] == expected  # parse_qs already URL-decoded it
        assert hit.payload["msgtype"] == "markdown"
        assert set(hit.payload["markdown"]) == {"title", "text"} and "Z-9" in hit.payload["markdown"]["title"]
    assert (
        channels.dingtalk_sign(secret, 1700000000000)
        == base64.b64encode(
            hmac.new(secret.encode(), f"1700000000000\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
    )


def test_a_failing_robot_is_retried_with_backoff_then_dead_lettered(client, world, staff, smtp, robot):
    tenant, *_ = staff
    admin = {"X-API-Key": world.api_key(tenant, Role.ADMIN)}
    robot.answer = {"errcode": 45009, "errmsg": "api freq out of limit"}
    url = robot.url("/cgi-bin/webhook/send?key=K")
    assert (
        client.put(
            "/api/v1/notify/robots", json={"name": "群", "provider": "wecom", "url": url}, headers=admin
        ).status_code
        == 200
    )
    _escalate(client, tenant)
    start = dt.datetime.now(dt.UTC)  # failures are stamped with the real clock (or the pass's, if later)
    first = jobs.deliver(now=start)
    assert first.failed == 1 and len(smtp.received) == 2  # the e-mails went; the robot refused
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        message = session.execute(select(OutboxMessage).where(OutboxMessage.channel == "wecom")).scalar_one()
    assert message.status == "failed" and "45009" in (message.last_error or "") and "key=K" not in message.last_error
    assert message.next_attempt_at is not None
    assert dt.timedelta(seconds=59) < message.next_attempt_at - start < dt.timedelta(seconds=70)  # backoff
    assert jobs.deliver(now=start + dt.timedelta(seconds=30)).claimed == 0  # not due yet
    jobs.deliver(now=start + dt.timedelta(seconds=80))
    third = jobs.deliver(now=start + dt.timedelta(seconds=400))
    assert third.dead == 1 and len(robot.hits) == 3  # CLAIMWATCH_NOTIFY_MAX_ATTEMPTS=3 in these tests
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        dead = session.execute(select(OutboxMessage).where(OutboxMessage.channel == "wecom")).scalar_one()
    assert dead.status == "dead"
    # staff can resend it like any dead letter, with the same key
    robot.answer = {"errcode": 0, "errmsg": "ok"}
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert service.resend(session, [dead.id]) == 1
    assert jobs.deliver(now=start + dt.timedelta(seconds=500)).routed == 1  # the admins' dead-letter alert
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        statuses = dict(session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status)).all())
    assert statuses[dead.idempotency_key] == "delivered"
    # the day's dead-letter alert reached the group too (this robot takes every kind)
    assert any(
        "S-1" in hit.payload["markdown"]["content"] and "失败" in hit.payload["markdown"]["content"]
        for hit in robot.hits[3:]
    )


def test_robot_configuration_needs_manage_tenant_and_valid_input(client, world, staff, robot):
    tenant, *_ = staff
    admin = {"X-API-Key": world.api_key(tenant, Role.ADMIN)}
    supervisor = {"X-API-Key": world.api_key(tenant, Role.SUPERVISOR)}
    body = {"name": "群", "provider": "wecom", "url": robot.url("/hook?key=1")}
    assert client.put("/api/v1/notify/robots", json=body, headers=supervisor).status_code == 403
    assert client.get("/api/v1/notify/robots", headers=supervisor).status_code == 403
    for bad, field in (
        ({"provider": "slack"}, "provider"),
        ({"url": "ftp://x.example/hook"}, "url"),
        ({"secret": "SEC1"}, "secret"),  # a WeCom robot does not sign
        ({"kinds": ["nope"]}, "kinds"),
        ({"org": "NOPE"}, "org"),
    ):
        response = client.put("/api/v1/notify/robots", json=body | bad, headers=admin)
        assert response.status_code in (404, 422) and response.json()["problems"][0]["field"] == field, (
            bad,
            response.text,
        )
    assert client.put("/api/v1/notify/robots", json=body, headers=admin).status_code == 200
    listed = client.get("/api/v1/notify/robots", headers=admin).json()
    assert [r["name"] for r in listed] == ["群"]
    other = world.tenant("BETA", "另一保险")
    other_admin = {"X-API-Key": world.api_key(other, Role.ADMIN)}
    assert client.get("/api/v1/notify/robots", headers=other_admin).json() == []
    assert client.delete("/api/v1/notify/robots/群", headers=other_admin).status_code == 404
    assert client.delete("/api/v1/notify/robots/群", headers=admin).status_code == 204
    assert client.get("/api/v1/notify/robots", headers=admin).json() == []


def test_cli_sets_addresses_and_robots(world, staff, robot):
    from typer.testing import CliRunner

    from claimwatch.cli import app

    tenant, gd, *_ = staff
    runner = CliRunner()
    done = runner.invoke(app, ["notify", "set-email", "gd.supervisor", "gd.new@insurer.example", "--tenant", "ACME"])
    assert done.exit_code == 0, done.output
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        from claimwatch.notify import repository

        emails = {u.username: u.email for u in repository.staff_users(session, tenant.id)}
    assert emails["gd.supervisor"] == "gd.new@insurer.example"
    bad = runner.invoke(app, ["notify", "set-email", "gd.supervisor", "nope", "--tenant", "ACME"])
    assert bad.exit_code == 1 and "email" in bad.output
    url = robot.url("/robot/send?access_token=SECRET-TOKEN")
    added = runner.invoke(
        app,
        [
            "notify",
            "robots",
            "set",
            "钉钉群",
            "--provider",
            "dingtalk",
            "--url",
            url,
            "--secret",
            "SECx",
            "--tenant",
            "ACME",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["notify", "robots", "list", "--tenant", "ACME"])
    assert "钉钉群" in listed.output and "SECRET-TOKEN" not in listed.output
    assert runner.invoke(app, ["notify", "robots", "remove", "钉钉群", "--tenant", "ACME"]).exit_code == 0
    assert runner.invoke(app, ["notify", "robots", "remove", "钉钉群", "--tenant", "ACME"]).exit_code == 1
