"""The decision letter: never a blank date, addressed by full name inside the letter (masked everywhere
else), printable and downloadable as PDF; the decision SMS is a short notice with the lookup link."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch import pdf
from claimwatch.access.models import PersonalDataAccess
from claimwatch.auth.models import Role
from claimwatch.calendar import service as calendar_service
from claimwatch.complaints import letters
from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints import service as complaints_service
from claimwatch.notify import service as notify_service
from tests.complaints.helpers import Desk, decision
from tests.web.conftest import sign_in

FULL_NAME = "欧阳晓明"
MASKED = "欧***"


def _facts(**changes: object) -> letters.LetterFacts:
    values: dict[str, object] = {
        "number": "TS20261201-0001",
        "name": FULL_NAME,
        "received_date": "2026-11-02",
        "channel_label": "电话",
        "category_label": "理赔",
        "sub_cause_label": "理赔时效",
        "claim_number": "CLM-9",
        "facts": "经核实，理算延误5日。",
        "basis": "依据保险合同第十二条。",
        "outcome_label": "部分支持",
        "remedy": None,
        "compensation": Decimal("200"),
        "review_deadline": "2027-01-05",
        "insurer": "示例保险",
        "decided_date": "2026-12-05",
    }
    values.update(changes)
    return letters.LetterFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["review_deadline", "decided_date", "received_date"])
@pytest.mark.parametrize("blank", ["", None, "—"])
def test_a_letter_is_never_written_with_a_blank_date(field, blank):
    with pytest.raises(letters.LetterRefused) as refused:
        letters.render_decision(_facts(**{field: blank}))
    assert refused.value.status == 409 and refused.value.field == field


def test_the_stored_copy_is_masked_and_the_letter_itself_is_addressed_in_full():
    stored = letters.render_decision(_facts())
    assert f"{MASKED}：" in stored and FULL_NAME not in stored
    assert "（即 2027-01-05 前）" in stored
    document = letters.letter_document(stored, "TS20261201-0001", FULL_NAME)
    assert document.salutation == f"{FULL_NAME}："
    assert document.review_deadline == "2027-01-05" and document.date == "2026-12-05"
    assert document.title == "投诉处理决定书" and document.insurer == "示例保险"
    assert [b.heading for b in document.blocks][1:] == [
        "一、核实的事实",
        "二、处理依据和理由",
        "三、处理结论",
        "四、救济途径",
    ]
    assert not document.provisional
    english = letters.letter_document(letters.render_decision(_facts(), "en"), "N", FULL_NAME)
    assert english.salutation == f"Dear {FULL_NAME}," and english.review_deadline == "2027-01-05"
    # No name taken: a neutral form of address, never an empty one.
    assert letters.letter_document(stored, "N", None).salutation == "投诉人："


def test_a_provisional_review_deadline_is_printed_marked():
    stored = letters.render_decision(_facts(review_deadline_provisional=True))
    assert "（即 2027-01-05 前；该日期所在年度的节假日安排尚未公布，按法定节假日暂定）" in stored
    assert letters.letter_document(stored, "N", FULL_NAME).provisional
    english = letters.render_decision(_facts(review_deadline_provisional=True), "en")
    assert "(by 2027-01-05, provisional:" in english


def test_a_stored_copy_with_a_blank_deadline_is_not_printed():
    # A letter written before blank dates were refused.
    stored = letters.render_decision(_facts()).replace("2027-01-05", "")
    with pytest.raises(letters.LetterRefused) as refused:
        letters.letter_document(stored, "N", FULL_NAME)
    assert refused.value.field == "review_deadline"
    undated = letters.render_decision(_facts()).rsplit("\n", 1)[0] + "\n"
    with pytest.raises(letters.LetterRefused) as refused:
        letters.letter_document(undated, "N", FULL_NAME)
    assert refused.value.field == "decided_date"
    with pytest.raises(letters.LetterRefused) as refused:
        letters.letter_document(None, "N", FULL_NAME)
    assert refused.value.field == "letter"


def test_a_decision_whose_review_deadline_cannot_be_computed_is_refused_not_printed_blank(desk: Desk, monkeypatch):
    number = desk.file(complainant={"name": FULL_NAME, "phone": "13900001111"})
    # No provisional years: the review window (30 days from now) ends in a year without any calendar.
    monkeypatch.setattr(calendar_service, "PROVISIONAL_YEARS_AHEAD", 0)
    monkeypatch.setattr(calendar_service, "_cache", {})
    last_official = max(calendar_service.builtin_years())
    if (dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).year <= last_official:
        pytest.skip("the review window ends inside the built-in calendar")
    with pytest.raises(letters.LetterRefused) as refused, desk.session() as session:
        complaints_service.decide(session, desk.handler, number, decision())
    assert refused.value.field == "review_deadline" and "calendar" in refused.value.message
    complaint = desk.complaint(number)
    assert complaint.status != "decided" and complaint.decision_letter is None


def _decided(desk: Desk) -> str:
    number = desk.file(complainant={"name": FULL_NAME, "phone": "13900001111"})
    with desk.session() as session:
        complaints_service.decide(session, desk.handler, number, decision())
    return number


def _handler_client(client: TestClient, desk: Desk) -> TestClient:
    username = desk.world.user("acme.letters", Role.COMPLAINT_HANDLER, desk.tenant)
    sign_in(client, username)
    return client


def test_the_letter_page_addresses_the_complainant_in_full_while_the_queue_and_page_mask(client, desk: Desk):
    number = _decided(desk)
    stored = desk.complaint(number).decision_letter or ""
    assert f"{MASKED}：" in stored and FULL_NAME not in stored
    web = _handler_client(client, desk)
    page = web.get(f"/complaints/{number}/letter")
    assert page.status_code == 200
    assert f'id="letter-salutation">{FULL_NAME}：</p>' in page.text
    assert f'href="/complaints/{number}/letter.pdf"' in page.text and 'href="/static/letter.css"' in page.text
    complaint_page = web.get(f"/complaints/{number}").text
    assert FULL_NAME not in complaint_page and MASKED in complaint_page
    assert f'href="/complaints/{number}/letter"' in complaint_page
    queue = web.get("/complaints").text
    assert number in queue and FULL_NAME not in queue
    # Whoever saw the full name is on record.
    with desk.session() as session:
        purposes = [r.purpose for r in session.execute(select(PersonalDataAccess)).scalars()]
    assert "complaint_letter" in purposes


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_the_letter_downloads_as_a_pdf_with_the_number_deadline_and_full_name(client, desk: Desk, tmp_path):
    number = _decided(desk)
    stored = desk.complaint(number).decision_letter or ""
    deadline = letters.letter_document(stored, number, FULL_NAME).review_deadline
    response = _handler_client(client, desk).get(f"/complaints/{number}/letter.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert f"{number}.pdf" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    path = tmp_path / "letter.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "投诉处理决定书" in text
    assert number in text and deadline in text and FULL_NAME in text
    assert re.search(r"\b1\s*/\s*1\b", text)  # the page number from the print stylesheet


def test_the_letter_is_refused_before_a_decision_and_to_those_who_do_not_handle_complaints(client, desk: Desk):
    number = desk.file(complainant={"name": FULL_NAME, "phone": "13900001111"})
    web = _handler_client(client, desk)
    undecided = web.get(f"/complaints/{number}/letter.pdf")
    assert undecided.status_code == 409 and 'data-field="letter"' in undecided.text
    assert undecided.headers["content-type"].startswith("text/html")
    assert web.get("/complaints/TS-NOPE/letter").status_code == 404
    decided = _decided(desk)
    viewer = TestClient(client.app)
    sign_in(viewer, desk.world.user("acme.adjuster", Role.ADJUSTER, desk.tenant))
    assert viewer.get(f"/complaints/{decided}/letter.pdf").status_code == 403
    other = Desk.create(desk.world, "BBB")
    outsider = TestClient(client.app)
    sign_in(outsider, desk.world.user("bbb.letters", Role.COMPLAINT_HANDLER, other.tenant))
    assert outsider.get(f"/complaints/{decided}/letter").status_code == 404


def test_a_stored_letter_with_a_blank_deadline_gets_a_page_saying_so(client, desk: Desk):
    number = _decided(desk)
    with desk.session() as session:
        complaint = complaint_queries.get_complaint(session, number)
        complaint.decision_letter = letters.render_decision(_facts(number=number)).replace("2027-01-05", "")
    response = _handler_client(client, desk).get(f"/complaints/{number}/letter")
    assert response.status_code == 409 and 'data-field="review_deadline"' in response.text
    assert "（即  前）" not in response.text


def test_the_decision_sms_is_a_short_notice_with_the_lookup_link():
    context = {
        "number": "TS20261201-0001",
        "name": MASKED,
        "decided_at": "2026-12-05 10:00",
        "outcome_label": "部分支持",
        "lookup_url": "https://cw.example/lookup/ACME",
        "review_deadline": "2027-01-05",
        "letter": letters.render_decision(_facts()),
    }
    for locale in ("zh", "en"):
        _, body = notify_service.render("complaint_decision_sms", locale, context)
        assert "https://cw.example/lookup/ACME" in body and "2027-01-05" in body and "TS20261201-0001" in body
        assert "核实的事实" not in body and "Facts verified" not in body and len(body) <= 200
    _, full = notify_service.render("complaint_decision", "zh", context)
    assert "核实的事实" in full  # e-mail still carries the letter (masked copy)


def test_after_a_decision_the_sms_row_is_the_short_notice(desk: Desk):
    number = _decided(desk)
    sms = [m for m in desk.messages(number) if m.channel == "sms" and m.template.startswith("complaint_decision")]
    assert len(sms) == 1
    assert sms[0].template == "complaint_decision_sms"
    assert "/lookup/" in sms[0].body and "核实的事实" not in sms[0].body


def test_documents_load_only_the_apps_static_files():
    fetcher = pdf._fetcher()
    css = fetcher.fetch(pdf.DOCUMENT_ORIGIN + "/static/letter.css")
    assert b"@page" in css.read()
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x.css", pdf.DOCUMENT_ORIGIN + "/static/../../config.py"):
        with pytest.raises(pdf.RefusedUrl):
            fetcher.fetch(url)
    # A document naming such URLs still renders, without them.
    html = '<html><body><img src="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:9/x.css"><p>投诉</p></body></html>'
    assert pdf.html_to_pdf(html).startswith(b"%PDF-")


@pytest.mark.parametrize("template", ["complaint_decision", "complaint_decision_sms", "complaint_extended"])
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_no_complaint_message_prints_a_blank_date(template, locale):
    context = {
        "number": "TS1",
        "name": MASKED,
        "decided_at": "2026-12-05 10:00",
        "outcome_label": "部分支持",
        "lookup_url": "https://cw.example/lookup/ACME",
        "letter": "…",
        "reason": "情况复杂",
        "category_label": "理赔",
    }
    for blank in ("review_deadline", "due_date"):
        context[blank] = ""
    subject, body = notify_service.render(template, locale, context)
    text = subject + "\n" + body
    assert "30" in text  # the period in words instead of a date
    for gap in ("于  前", "至 \n", "至 。", "by ,", "by .", "to .", "to \n", "by \n"):
        assert gap not in text + "\n", (gap, text)
