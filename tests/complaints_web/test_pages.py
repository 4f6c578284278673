"""The complaint screens through the real app: roles, tenants, masking, CSRF, the intake form and actions."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints import vocabulary
from claimwatch.db import TenantContext, unit_of_work
from tests.complaints_web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, TEXT_PHONE, Office
from tests.web.conftest import csrf_from

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-number="([^"]+)"', html)


def _status(office: Office, number: str) -> str:
    with unit_of_work(TenantContext.for_tenant(office.acme.id)) as session:
        return complaint_queries.get_complaint(session, number).status


def test_queue_lists_the_tenants_open_complaints_by_deadline_with_personal_data_masked(office: Office, signed_in):
    client = signed_in(office.handler)
    response = client.get("/complaints")
    assert response.status_code == 200
    html = response.text
    # Nearest decision deadline first (the late one is overdue; complex adds 15 days); BBB's is absent.
    assert _rows(html) == [office.late, office.personal, office.complex_one]
    assert office.bbb_only not in html
    assert "张**" in html and "张三丰" not in html
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html and TEXT_PHONE not in html
    row = html[html.index(f'data-number="{office.personal}"') :]
    assert 'class="light light-' in row[:800] and "light-text" in row[:800]  # the light in colour and in words
    assert 'href="/complaints/new"' in html  # a handler may file one


def test_queue_filters_answer_an_htmx_fragment_and_push_the_address(office: Office, signed_in):
    client = signed_in(office.handler)
    response = client.get("/complaints?category=sales&status=received", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="complaint-queue"' in response.text
    assert _rows(response.text) == [office.complex_one]
    assert response.headers["HX-Push-Url"] == "/complaints?status=received&category=sales"
    assert _rows(client.get("/complaints?channel=letter").text) == [office.late]
    assert _rows(client.get("/complaints?channel=app").text) == []
    overdue = client.get("/complaints?overdue=1").text
    assert _rows(overdue) == [office.late]
    assert 'data-light="yellow"' in overdue or 'data-light="red"' in overdue


def test_adjuster_sees_complaints_but_gets_no_action_forms(office: Office, signed_in):
    client = signed_in(office.adjuster)
    page = client.get(f"/complaints/{office.personal}")
    assert page.status_code == 200
    assert 'id="actions"' not in page.text and "/actions/" not in page.text
    assert 'href="/complaints/new"' not in client.get("/complaints").text
    assert client.get("/complaints/new").status_code == 403
    token = csrf_from(page.text)
    refused = client.post(f"/complaints/{office.personal}/actions/accept", data={"csrf_token": token})
    assert refused.status_code == 403
    assert _status(office, office.personal) == "received"


def test_complaint_page_masks_personal_data_and_shows_clock_history_and_actions(office: Office, signed_in):
    client = signed_in(office.handler)
    html = client.get(f"/complaints/{office.personal}").text
    assert '<dd id="complainant-phone">138********</dd>' in html
    assert '<dd id="complainant-id">1101**********1234</dd>' in html
    assert '<dd id="complainant-name">张**</dd>' in html
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html and TEXT_PHONE not in html
    assert 'href="/claims/A-MOT-001"' in html
    assert 'data-policy="complaint_decision"' in html and 'data-state="running"' in html
    assert 'data-kind="received"' in html
    for action in ("accept", "note", "complex", "withdraw", "decide"):
        assert f'id="action-{action}"' in html
    assert 'id="action-extend"' not in html  # not complex yet, and a handler approves no extension


def test_extension_is_offered_to_approvers_only(office: Office, signed_in):
    handler = signed_in(office.handler).get(f"/complaints/{office.complex_one}").text
    assert 'id="action-complex"' not in handler and 'id="action-extend"' not in handler
    supervisor = signed_in(office.supervisor).get(f"/complaints/{office.complex_one}").text
    assert 'id="action-extend"' in supervisor


def test_another_insurers_complaint_is_not_found(office: Office, signed_in):
    client = signed_in(office.handler)
    response = client.get(f"/complaints/{office.bbb_only}")
    assert response.status_code == 404
    assert office.bbb_only not in _rows(response.text)
    token = csrf_from(client.get("/complaints").text)
    refused = client.post(f"/complaints/{office.bbb_only}/actions/accept", data={"csrf_token": token})
    assert refused.status_code == 404
    with unit_of_work(TenantContext.for_tenant(office.bbb.id)) as session:
        assert complaint_queries.get_complaint(session, office.bbb_only).status == "received"


def test_regulator_reads_across_insurers_and_changes_nothing(office: Office, signed_in):
    client = signed_in(office.regulator)
    queue = client.get("/complaints").text
    assert set(_rows(queue)) == {office.late, office.personal, office.complex_one, office.bbb_only}
    assert '<td class="tenant">BBB</td>' in queue and 'href="/complaints/new"' not in queue
    assert f'href="/complaints/{office.bbb_only}?tenant=BBB"' in queue
    only_bbb = client.get("/complaints?tenant=BBB").text
    assert _rows(only_bbb) == [office.bbb_only]
    page = client.get(f"/complaints/{office.personal}?tenant=ACME")
    assert page.status_code == 200
    assert '<dd id="complaint-tenant">ACME</dd>' in page.text
    assert 'id="actions"' not in page.text and CLEAR_PHONE not in page.text
    assert client.get(f"/complaints/{office.personal}?tenant=BBB").status_code == 404
    token = csrf_from(page.text)
    assert client.post(f"/complaints/{office.personal}/actions/accept", data={"csrf_token": token}).status_code == 403
    assert client.get("/complaints/new").status_code == 403
    assert _status(office, office.personal) == "received"


def test_an_action_without_the_csrf_token_is_refused(office: Office, signed_in):
    client = signed_in(office.handler)
    client.get(f"/complaints/{office.personal}")
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(f"/complaints/{office.personal}/actions/accept", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert _status(office, office.personal) == "received"
    intake = client.post("/complaints/new", data={"channel": "hotline", "subject": "x"}, follow_redirects=False)
    assert intake.status_code == 403 and 'id="form-problem"' in intake.text


def test_a_visitor_is_sent_to_sign_in(client: TestClient, office: Office):
    response = client.get("/complaints", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    htmx = client.get("/complaints?status=received", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")


def _intake(client: TestClient, **fields: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": csrf_from(client.get("/complaints/new").text),
        "channel": "hotline",
        "received_at": "",
        "claim_number": "",
        "name": "赵六",
        "phone": "13500003333",
        "category": "claims",
        "sub_cause": "payment",
        "subject": "理赔款未到账",
        "description": "结案两周了理赔款还没到账。",
    }
    form.update(fields)
    return form


def test_intake_refusals_are_shown_next_to_the_field_with_the_values_kept(office: Office, signed_in):
    client = signed_in(office.handler)
    bad_phone = client.post("/complaints/new", data=_intake(client, phone="call me"), follow_redirects=False)
    assert bad_phone.status_code == 422
    assert 'id="err-phone"' in bad_phone.text and 'aria-describedby="err-phone"' in bad_phone.text
    assert 'value="理赔款未到账"' in bad_phone.text and "结案两周了理赔款还没到账。</textarea>" in bad_phone.text
    assert 'value="call me"' in bad_phone.text
    unknown_claim = client.post("/complaints/new", data=_intake(client, claim_number="NOPE-1"), follow_redirects=False)
    assert unknown_claim.status_code == 422 and 'id="err-claim_number"' in unknown_claim.text
    wrong_cause = client.post("/complaints/new", data=_intake(client, sub_cause="misleading"), follow_redirects=False)
    assert wrong_cause.status_code == 422 and 'id="err-sub_cause"' in wrong_cause.text
    nobody = client.post("/complaints/new", data=_intake(client, phone="", name=""), follow_redirects=False)
    assert nobody.status_code == 422 and 'id="err-complainant"' in nobody.text
    future = client.post(
        "/complaints/new", data=_intake(client, received_at="2099-01-01T10:00"), follow_redirects=False
    )
    assert future.status_code == 422 and 'id="err-received_at"' in future.text
    no_reason = client.post("/complaints/new", data=_intake(client, complex="1"), follow_redirects=False)
    assert no_reason.status_code == 422 and 'id="err-complex_reason"' in no_reason.text
    assert _rows(client.get("/complaints").text) == [office.late, office.personal, office.complex_one]


def test_intake_records_the_complaint_and_opens_its_page(office: Office, signed_in):
    client = signed_in(office.handler)
    form = _intake(
        client,
        claim_number="A-MOT-001",
        major_reasons=["media", "vulnerable"],
        complex="1",
        complex_reason="涉及多方责任认定",
    )
    response = client.post("/complaints/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    number = response.headers["location"].removeprefix("/complaints/")
    with unit_of_work(TenantContext.for_tenant(office.acme.id)) as session:
        complaint = complaint_queries.get_complaint(session, number)
        assert (complaint.category, complaint.sub_cause, complaint.channel) == ("claims", "payment", "hotline")
        assert complaint.complex and complaint.special_team
        assert complaint.major_reasons == "media,vulnerable"
    page = client.get(response.headers["location"]).text
    assert '<dd id="complainant-phone">135********</dd>' in page
    assert 'id="major-flag"' in page and 'data-kind="complex"' in page
    # Same customer (the claim's) and category as an open complaint: linked as a repeat.
    assert 'id="repeat-flag"' in page and f'data-number="{office.personal}" data-linked="yes"' in page


def test_sub_cause_select_follows_the_category(office: Office, signed_in):
    client = signed_in(office.handler)
    fragment = client.get("/complaints/sub-causes?category=sales", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<select name="sub_cause" id="f-sub-cause"')
    assert 'value="misleading"' in fragment and 'value="delay"' not in fragment and "<optgroup" not in fragment
    every = client.get("/complaints/new").text  # before a category is chosen: all, grouped
    assert every.count("<optgroup") == len(vocabulary.categories())


def test_actions_accept_then_decide_stops_the_clock_and_writes_the_letter(office: Office, signed_in):
    client = signed_in(office.handler)
    url = f"/complaints/{office.personal}"
    token = csrf_from(client.get(url).text)
    accepted = client.post(
        f"{url}/actions/accept", data={"csrf_token": token, "note": "已电话联系"}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == url
    assert _status(office, office.personal) == "accepted"

    decision = {
        "csrf_token": token,
        "outcome": "partly_upheld",
        "facts": "",
        "basis": "依据合同第十二条",
        "compensation": "abc",
    }
    refused = client.post(f"{url}/actions/decide", data=decision, follow_redirects=False)
    assert refused.status_code == 422
    assert 'id="action-problem"' in refused.text and 'data-field="compensation"' in refused.text
    assert 'id="action-decide" open' in refused.text and "依据合同第十二条</textarea>" in refused.text
    decision["compensation"] = "800.00"
    refused = client.post(f"{url}/actions/decide", data=decision, follow_redirects=False)
    assert refused.status_code == 422 and 'id="err-decide-facts"' in refused.text
    assert _status(office, office.personal) == "accepted"

    decision["facts"] = "经核实定损金额偏低"
    decided = client.post(f"{url}/actions/decide", data=decision | {"first_contact": "1"}, follow_redirects=False)
    assert decided.status_code == 303
    page = client.get(url).text
    assert 'data-status="decided"' in page
    clock = page[page.index('data-policy="complaint_decision"') :][:400]
    assert 'data-state="stopped"' in clock and 'data-outcome="met"' in clock
    assert 'id="letter-text"' in page and office.personal in page[page.index('id="letter-text"') :]
    # The decision went out through the outbox: by SMS a short notice with the lookup link.
    assert 'data-template="complaint_decision_sms"' in page
    assert 'id="action-review-request"' in page and 'id="action-decide"' not in page
    assert '<dd id="complaint-first-contact">' in page


def test_a_refused_action_names_the_field_and_changes_nothing(office: Office, signed_in):
    client = signed_in(office.handler)
    url = f"/complaints/{office.personal}"
    token = csrf_from(client.get(url).text)
    empty = client.post(f"{url}/actions/withdraw", data={"csrf_token": token, "reason": "  "}, follow_redirects=False)
    assert empty.status_code == 422 and 'id="err-withdraw-reason"' in empty.text
    # Closing needs a decision first: the service refuses (409) naming the status.
    early = client.post(f"{url}/actions/close", data={"csrf_token": token}, follow_redirects=False)
    assert early.status_code == 409 and 'data-field="status"' in early.text
    assert client.post(f"{url}/actions/launch", data={"csrf_token": token}).status_code == 404
    assert _status(office, office.personal) == "received"


def test_a_handler_escalates_a_complaint_as_major_from_its_page(office: Office, signed_in):
    client = signed_in(office.handler)
    url = f"/complaints/{office.personal}"
    page = client.get(url).text
    assert 'id="action-major"' in page and 'name="major_reasons" value="media"' in page
    token = csrf_from(page)
    none = client.post(f"{url}/actions/major", data={"csrf_token": token, "reason": "媒体报道"}, follow_redirects=False)
    assert none.status_code == 422 and 'id="err-major-major_reasons"' in none.text
    data = {"csrf_token": token, "reason": "媒体报道，多人联名", "major_reasons": ["media", "group"]}
    done = client.post(f"{url}/actions/major", data=data, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(url).text
    assert 'data-kind="marked_major"' in page
    assert 'name="major_reasons" value="media"' not in page  # already major for that reason
    assert 'name="major_reasons" value="vulnerable"' in page


def test_a_supervisor_approves_the_extension_and_the_complainant_is_told(office: Office, signed_in):
    client = signed_in(office.supervisor)
    url = f"/complaints/{office.complex_one}"
    token = csrf_from(client.get(url).text)
    response = client.post(
        f"{url}/actions/extend", data={"csrf_token": token, "reason": "需第三方鉴定"}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get(url).text
    assert 'data-kind="extended"' in page and 'data-template="complaint_extended"' in page
    assert 'id="action-extend"' not in page  # at most once: 60 days in all


def test_pages_speak_english_when_asked(office: Office, signed_in):
    client = signed_in(office.handler)
    html = client.get(f"/complaints/{office.personal}?lang=en").text
    assert f"Complaint {office.personal}" in html and "Deadlines" in html and "Received" in html
