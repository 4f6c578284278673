"""The CSV import page: a complaint desk uploads a regulator's transfer list; all or nothing, every bad row
listed, a trial run records nothing, handlers only, CSRF-checked."""

from __future__ import annotations

from sqlalchemy import func, select

from claimwatch.complaints.models import Complaint
from claimwatch.db import TenantContext, unit_of_work
from tests.complaints_web.conftest import Office
from tests.web.conftest import csrf_from

GOOD = """投诉渠道,转办编号,投诉时间,投诉人,联系电话,投诉类别,投诉原因,投诉主题,投诉内容
监管转办,12378-9001,2026-11-02 10:00,周一,13811110001,理赔,拒赔争议,拒赔,医疗险被拒赔
热线,,2026-11-03 09:30,郑三,13811110003,服务,服务态度,态度差,客服态度恶劣
""".encode("gb18030")

BROKEN = """channel,received_at,name,phone,category,sub_cause,subject,description
hotline,2026-11-02 10:00,甲,13811110004,claims,delay,慢,太慢
pigeon,2026-11-02 10:00,乙,13811110005,claims,delay,慢,太慢
email,2099-01-01 10:00,丙,13811110006,claims,delay,慢,太慢
""".encode()


def _count(office: Office) -> int:
    with unit_of_work(TenantContext.for_tenant(office.acme.id)) as session:
        return session.execute(select(func.count()).select_from(Complaint)).scalar_one()


def _upload(client, content: bytes, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/complaints/import").text)
    data = {"csrf_token": token} | fields
    return client.post("/complaints/import", data=data, files={"file": ("list.csv", content, "text/csv")})


def test_a_broken_list_records_nothing_and_names_each_row(office: Office, signed_in):
    client = signed_in(office.handler)
    before = _count(office)
    page = client.get("/complaints")
    assert 'id="import-complaints"' in page.text
    response = _upload(client, BROKEN)
    assert response.status_code == 422
    assert 'id="import-rejects"' in response.text
    assert 'data-line="3"' in response.text and "pigeon" in response.text  # the unknown channel's row
    assert 'data-line="4"' in response.text and "不得晚于现在" in response.text
    assert 'data-line="2"' not in response.text  # the good row is not a problem, but was not kept either
    assert _count(office) == before


def test_a_trial_run_then_the_import_and_a_repeat_adds_nothing_twice(office: Office, signed_in):
    client = signed_in(office.handler)
    before = _count(office)
    trial = _upload(client, GOOD, dry_run="1")
    assert trial.status_code == 200 and 'id="import-result"' in trial.text
    assert _count(office) == before
    done = _upload(client, GOOD)
    assert done.status_code == 201 and 'href="/complaints/TS' in done.text
    assert _count(office) == before + 2
    again = _upload(client, GOOD)
    assert again.status_code == 201
    assert _count(office) == before + 3  # the 12378 transfer is known; the hotline row has no reference


def test_only_handlers_upload_and_the_form_needs_its_token(office: Office, signed_in):
    adjuster = signed_in(office.adjuster)
    assert adjuster.get("/complaints/import").status_code == 403
    handler = signed_in(office.handler)
    refused = handler.post("/complaints/import", data={}, files={"file": ("list.csv", GOOD, "text/csv")})
    assert refused.status_code == 403 and 'id="import-problem"' in refused.text
    token = csrf_from(handler.get("/complaints/import").text)
    empty = handler.post("/complaints/import", data={"csrf_token": token})
    assert empty.status_code == 422 and 'id="import-problem"' in empty.text
