"""The provider's side of a task (issue 21): its own API key lists, reads, accepts, declines and reports on its
tasks only; a report is refused whole without its kind's required fields; the report file's SHA-256 is in the
audit chain; on-time and standard are judged when the report arrives. The signed task link does the same from a
page without an account: forged tokens, a missing CSRF token and an expired link are refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import portal, provider_service
from claimwatch.providers.models import ProviderTask, ProviderTaskEvent
from claimwatch.web.security import CSRF_FIELD
from tests.providers.portal_world import PDF, PortalWorld

APPRAISAL = {"amount_assessed": "12800.50", "conclusion": "车辆前部受损，维修费用合理"}


def _task(pw: PortalWorld, number: str, tenant_id: int | None = None) -> ProviderTask:
    with unit_of_work(TenantContext.for_tenant(tenant_id or pw.acme.id)) as session:
        task = session.execute(select(ProviderTask).where(ProviderTask.number == number)).scalar_one()
        session.expunge(task)
        return task


def _events(pw: PortalWorld, number: str) -> list[str]:
    with unit_of_work(TenantContext.for_tenant(pw.acme.id)) as session:
        task_id = select(ProviderTask.id).where(ProviderTask.number == number).scalar_subquery()
        rows = session.execute(select(ProviderTaskEvent.action).where(ProviderTaskEvent.task_id == task_id))
        return list(rows.scalars())


def test_a_provider_key_sees_its_own_tasks_only_and_nothing_of_the_claim(portal_world: PortalWorld):
    pw = portal_world
    mine = pw.send(pw.acme, "APP-1", "list-mine", instructions="请于工作日上午联系修理厂")
    other = pw.send(pw.acme, "APP-2", "list-other")
    bbb = pw.send(pw.bbb, "APP-1", "list-bbb")  # the same provider code at another insurer: another provider
    headers = pw.headers("ACME:APP-1")
    listed = pw.client.get("/api/v1/provider/tasks", headers=headers)
    assert listed.status_code == 200, listed.text
    numbers = [t["number"] for t in listed.json()["tasks"]]
    assert mine in numbers and other not in numbers
    assert all(t["status"] in ("sent", "accepted") for t in listed.json()["tasks"][:1])  # open first
    one = pw.client.get(f"/api/v1/provider/tasks/{mine}", headers=headers)
    assert one.status_code == 200
    body = one.json()
    assert body["kind"] == "appraisal" and body["instructions"] == "请于工作日上午联系修理厂"
    assert body["documents"] == ["鉴定委托书", "保单复印件", "事故照片", "损失清单"]
    assert [f["name"] for f in body["required_fields"]] == ["amount_assessed", "conclusion"]
    assert body["region_code"] == "440000" and body["due_at"]
    # Nothing of the claim beyond its line and region: no claim number, claimant, handler or contract.
    text = one.text
    assert "ACME-C1" not in text and "李四光" not in text and "李**" not in text
    assert "13912345678" not in text and "139****5678" not in text  # the claimant's phone, clear or masked
    assert not {"claim_number", "claim_id", "handler_user_id", "contract_id", "sent_by"} & set(body)
    # Another provider's task, or a number this provider does not have at its insurer: 404, the same answer.
    for number in (other, "PT-000000-99999"):
        refused = pw.client.get(f"/api/v1/provider/tasks/{number}", headers=headers)
        assert refused.status_code == 404 and refused.json()["problems"][0]["field"] == "task"
    assert pw.client.post(f"/api/v1/provider/tasks/{other}/accept", headers=headers).status_code == 404
    assert _task(pw, other).status == "sent"
    # BBB's APP-1 key reaches BBB's task only, whatever ACME numbered its own.
    bbb_list = pw.client.get("/api/v1/provider/tasks", headers=pw.headers("BBB:APP-1")).json()["tasks"]
    assert [t["number"] for t in bbb_list] == [bbb]
    # A staff key, and a signed-in admin, get 403 on the provider API.
    assert pw.client.get("/api/v1/provider/tasks", headers={"X-API-Key": pw.acme.api_key}).status_code == 403


def test_accept_decline_and_a_report_refused_whole_without_its_fields(portal_world: PortalWorld):
    pw = portal_world
    number = pw.send(pw.acme, "APP-1", "flow")
    declined = pw.send(pw.acme, "APP-1", "declined")
    headers = pw.headers("ACME:APP-1")
    url = f"/api/v1/provider/tasks/{number}"
    accepted = pw.client.post(f"{url}/accept", headers=headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert pw.client.post(f"{url}/accept", headers=headers).json()["status"] == "accepted"  # again: no change
    assert _events(pw, number).count("accepted") == 1

    # Without its fields, with an unknown one, with a bad amount: 422 naming each field, nothing written.
    missing = pw.client.post(f"{url}/report", headers=headers, data={"fields": "{}"})
    assert missing.status_code == 422
    assert {p["field"] for p in missing.json()["problems"]} == {"amount_assessed", "conclusion"}
    wrong = {"amount_assessed": "12,800", "conclusion": "ok", "colour": "red"}
    bad = pw.client.post(f"{url}/report", headers=headers, data={"fields": json.dumps(wrong)})
    assert bad.status_code == 422 and {p["field"] for p in bad.json()["problems"]} == {"amount_assessed", "colour"}
    assert pw.client.post(f"{url}/report", headers=headers, data={"fields": "[1]"}).status_code == 422
    fake = ("report.pdf", b"<html>not a pdf</html>", "application/pdf")
    refused = pw.client.post(
        f"{url}/report", headers=headers, data={"fields": json.dumps(APPRAISAL)}, files={"file": fake}
    )
    assert refused.status_code in (415, 422)
    task = _task(pw, number)
    assert task.status == "accepted" and task.reported_at is None and task.report_sha256 is None
    assert "reported" not in _events(pw, number)

    # The report: fields and a PDF; the file's SHA-256 in the task and in the audit chain.
    files = {"file": ("鉴定报告.pdf", PDF, "application/pdf")}
    done = pw.client.post(f"{url}/report", headers=headers, data={"fields": json.dumps(APPRAISAL)}, files=files)
    assert done.status_code == 200, done.text
    body = done.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert body["status"] == "reported" and body["on_time"] is True
    assert body["report"] == {"fields": APPRAISAL, "filename": "鉴定报告.pdf", "sha256": digest}
    task = _task(pw, number)
    assert task.amount_assessed is not None and str(task.amount_assessed) == "12800.50"
    assert task.on_time is True and task.standard is True and task.standard_reasons == []
    with unit_of_work(TenantContext.for_tenant(pw.acme.id)) as session:
        entries = session.execute(
            select(AuditEntry.payload)
            .where(AuditEntry.kind == "provider_task.reported", AuditEntry.subject == number)
            .order_by(AuditEntry.seq)
        ).scalars()
        assert any(digest in (payload or "") for payload in entries)
    again = pw.client.post(f"{url}/report", headers=headers, data={"fields": json.dumps(APPRAISAL)})
    assert again.status_code == 409  # one report: a wrong one is disputed, not replaced

    # Declining needs a reason; a declined task takes no report.
    decline = f"/api/v1/provider/tasks/{declined}/decline"
    assert pw.client.post(decline, headers=headers, json={"reason": " "}).status_code == 422
    assert pw.client.post(decline, headers=headers, json={"reason": "本周人手不足"}).json()["status"] == "declined"
    late = pw.client.post(f"/api/v1/provider/tasks/{declined}/report", headers=headers, data={"fields": "{}"})
    assert late.status_code == 409


def test_a_late_report_is_not_standard(portal_world: PortalWorld):
    pw = portal_world
    sent = dt.datetime.now(dt.UTC) - dt.timedelta(days=25)
    number = pw.send(pw.acme, "APP-2", "late", at=sent)  # APP-2 has no contract either
    headers = pw.headers("ACME:APP-2")
    done = pw.client.post(
        f"/api/v1/provider/tasks/{number}/report", headers=headers, data={"fields": json.dumps(APPRAISAL)}
    )
    assert done.status_code == 200, done.text
    task = _task(pw, number)
    assert task.on_time is False and task.standard is False
    assert set(task.standard_reasons) == {"late", "no_contract"}


def _csrf(page: str) -> str:
    found = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_the_signed_link_page_accepts_and_reports_without_an_account(portal_world: PortalWorld):
    pw = portal_world
    number = pw.send(pw.acme, "APP-1", "link")
    task = _task(pw, number)
    link = portal.task_link(task)
    path = link[link.index("/provider/tasks/") :]
    client = pw.client
    client.cookies.clear()
    page = client.get(path, params={"lang": "en"})
    assert page.status_code == 200 and page.headers["X-Robots-Tag"] == "noindex"
    assert number in page.text and 'data-status="sent"' in page.text and "Amount assessed" in page.text
    assert "ACME-C1" not in page.text and "李四光" not in page.text
    token = _csrf(page.text)
    # Without the page's CSRF token nothing happens.
    assert client.post(f"{path}/accept", data={CSRF_FIELD: "forged"}).status_code == 403
    assert _task(pw, number).status == "sent"
    accepted = client.post(f"{path}/accept", data={CSRF_FIELD: token}, follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("?done=accepted")
    # A report without its fields: the form again (422), each field named, nothing kept.
    missing = client.post(f"{path}/report", data={CSRF_FIELD: token, "f_conclusion": "部分受损"}, params={"lang": "en"})
    assert missing.status_code == 422 and 'data-field="amount_assessed"' in missing.text
    assert _task(pw, number).reported_at is None
    form = {CSRF_FIELD: token, "f_amount_assessed": "800", "f_conclusion": "部分受损"}
    files = {"file": ("report.pdf", PDF, "application/pdf")}
    reported = client.post(f"{path}/report", data=form, files=files, follow_redirects=False)
    assert reported.status_code == 303, reported.text
    task = _task(pw, number)
    assert task.status == "reported" and task.report_sha256 == hashlib.sha256(PDF).hexdigest()
    shown = client.get(path).text
    assert 'id="portal-report"' in shown and "800.00" in shown and 'id="report-button"' not in shown
    # A forged or altered token: 404, the same page as an unknown one.
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 404
    assert client.get("/provider/tasks/pt1.1.1.x").status_code == 404
    assert portal.read_token(portal.token_for(pw.bbb.id, task.id)) is not None
    assert client.get(f"/provider/tasks/{portal.token_for(pw.bbb.id, task.id)}").status_code == 404  # not BBB's


def test_the_link_expires_thirty_days_after_the_task_ends(portal_world: PortalWorld):
    pw = portal_world
    sent = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    number = pw.send(pw.acme, "APP-1", "expired", at=sent)
    headers = pw.headers("ACME:APP-1")
    principal = _key_principal(pw, "ACME:APP-1")
    with unit_of_work(TenantContext.for_tenant(pw.acme.id)) as session:
        provider_service.decline(session, principal, number, "不接", at=sent + dt.timedelta(days=1))
    assert pw.client.get(f"/api/v1/provider/tasks/{number}", headers=headers).json()["status"] == "declined"
    task = _task(pw, number)
    assert pw.client.get(f"/provider/tasks/{portal.token_for(task.tenant_id, task.id)}").status_code == 410


def _key_principal(pw: PortalWorld, name: str) -> Principal:
    with unit_of_work(TenantContext.system_reader()) as session:
        principal = auth_service.principal_for_api_key(session, pw.keys[name])
    assert principal is not None
    return principal
