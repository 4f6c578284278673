"""Every form says what is wrong field by field, in the page's language (claimwatch.web.forms): a bad phone,
an ID number with a wrong check digit, a reversed date range, a missing required field. Chinese pages carry
no English and no validator text; nothing is saved."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.complaints.models import Complaint
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.web import forms
from claimwatch.web.i18n import translate
from tests.apps import shared_app
from tests.complaints_web.conftest import Office, office, signed_in  # noqa: F401 - fixtures
from tests.web.conftest import csrf_from

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

LOCALES = ("zh", "en")
# What must never reach a page: Pydantic's own words, the error codes, the schema's patterns.
RAW = ("String should", "Field required", "Value error", "phone_format", "id_number_", "pattern", "Input should")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _count(office: Office) -> int:  # noqa: F811
    with unit_of_work(TenantContext.for_tenant(office.acme.id)) as session:
        return session.execute(select(func.count()).select_from(Complaint)).scalar_one()


def _error(html: str, element_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{element_id}" role="alert">(.*?)</p>', html, re.S)
    assert found, f"no {element_id} on the page"
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def _assert_language(text: str, locale: str, expected_msgid: str) -> None:
    """The message is the msgid's translation: Chinese (and only the message) on zh, English on en."""
    expected = translate(locale, expected_msgid)
    assert text.startswith(expected), (text, expected)
    if locale == "zh":
        assert CJK.search(text), text
        assert text == expected  # no English detail appended on a Chinese page
    else:
        assert not CJK.search(text), text
    for raw in RAW:
        assert raw not in text


def _intake(client: TestClient, locale: str, **fields: str) -> dict[str, str]:  # noqa: F811
    form = {
        "csrf_token": csrf_from(client.get(f"/complaints/new?lang={locale}").text),
        "channel": "hotline",
        "received_at": "",
        "name": "赵六",
        "phone": "13500003333",
        "category": "claims",
        "sub_cause": "payment",
        "subject": "理赔款未到账",
        "description": "结案两周了理赔款还没到账。",
    }
    return form | fields


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("fields", "field", "msgid"),
    [
        ({"phone": "12345678"}, "phone", forms.PHONE),
        ({"phone": "+86 138 1234 567"}, "phone", forms.PHONE),
        ({"id_number": "110105194912310021"}, "id_number", forms.ID_CHECK_DIGIT),
        ({"id_number": "110105194902301234"}, "id_number", forms.ID_BIRTH_DATE),
        ({"subject": ""}, "subject", forms.REQUIRED),
        (
            {
                "channel": "regulator_12378",
                "received_at": "2026-11-02T10:00",
                "regulator_received_at": "2026-11-03T10:00",
            },
            "regulator_received_at",
            forms.FIELD_MESSAGES["regulator_received_at"],
        ),
        ({"received_at": "0001-01-01T00:00"}, "received_at", forms.YEARS),
    ],
)
def test_the_intake_form_names_the_field_in_the_pages_language(
    office: Office,  # noqa: F811
    signed_in,  # noqa: F811
    locale: str,
    fields: dict[str, str],
    field: str,
    msgid: str,
):
    client = signed_in(office.handler)
    before = _count(office)
    page = client.post(f"/complaints/new?lang={locale}", data=_intake(client, locale, **fields), follow_redirects=False)
    assert page.status_code == 422
    text = _error(page.text, f"err-{field}")
    if msgid == forms.YEARS:
        assert text == translate(locale, msgid) % {"first": 1900, "last": 2999}
    else:
        _assert_language(text, locale, msgid)
    assert f'aria-describedby="err-{field}"' in page.text
    assert _count(office) == before


def test_the_intake_form_takes_a_valid_id_number_and_a_formatted_phone(office: Office, signed_in):  # noqa: F811
    client = signed_in(office.handler)
    before = _count(office)
    form = _intake(client, "zh", phone="+86 135-0000-3333", id_number="11010519491231002x")
    done = client.post("/complaints/new", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _count(office) == before + 1


def test_the_api_records_a_wrong_check_digit_but_not_a_bad_phone(office: Office):  # noqa: F811
    api = TestClient(shared_app())
    body = {
        "channel": "hotline",
        "category": "claims",
        "sub_cause": "payment",
        "subject": "理赔款未到账",
        "description": "结案两周了理赔款还没到账。",
        "complainant": {"name": "赵六", "id_number": "110105194912310021", "phone": "135 0000 3333"},
    }
    key = {"X-API-Key": office.acme.api_key}
    refused = api.post("/api/v1/complaints", json=body | {"complainant": {"phone": "12345"}}, headers=key)
    assert refused.status_code == 422
    assert any(p["field"].endswith("phone") for p in refused.json()["problems"])  # English, field named
    assert api.post("/api/v1/complaints", json=body, headers=key).status_code == 201


@pytest.mark.parametrize("locale", LOCALES)
def test_the_action_forms_name_the_field_in_the_pages_language(office: Office, signed_in, locale: str):  # noqa: F811
    client = signed_in(office.handler)
    page = client.get(f"/complaints/{office.personal}?lang={locale}")
    token = csrf_from(page.text)
    empty = client.post(
        f"/complaints/{office.personal}/actions/withdraw?lang={locale}", data={"csrf_token": token, "reason": " "}
    )
    assert empty.status_code == 422
    _assert_language(_error(empty.text, "err-withdraw-reason"), locale, forms.REQUIRED)
    amount = client.post(
        f"/complaints/{office.personal}/actions/decide?lang={locale}",
        data={"csrf_token": token, "outcome": "upheld", "facts": "事实", "basis": "依据", "compensation": "12,3x"},
    )
    assert amount.status_code == 422
    _assert_language(_error(amount.text, "err-decide-compensation"), locale, forms.AMOUNT)
    # A review requested before the complaint was received: the range of the complaint's own dates.
    early = client.post(
        f"/complaints/{office.personal}/actions/review-request?lang={locale}",
        data={"csrf_token": token, "note": "请核查", "received_at": "2020-01-01T10:00"},
    )
    assert early.status_code in (409, 422)
    alert = unescape(
        re.sub(r"<[^>]+>", "", re.search(r'id="action-problem"[^>]*>(.*?)</p>', early.text, re.S).group(1))
    )
    for raw in RAW:
        assert raw not in alert
    if locale == "zh":
        assert "received" not in alert and "review" not in alert.lower()
    status = client.get(f"/complaints/{office.personal}").text
    assert 'data-status="withdrawn"' not in status and 'data-status="decided"' not in status


@pytest.mark.parametrize("locale", LOCALES)
def test_the_import_lists_each_bad_row_in_the_pages_language(office: Office, signed_in, locale: str):  # noqa: F811
    client = signed_in(office.handler)
    before = _count(office)
    content = (
        "channel,received_at,name,phone,category,sub_cause,subject,description\n"
        "hotline,2026-11-02 10:00,甲,12345,claims,delay,慢,太慢\n"
        "hotline,2026-11-02 10:00,乙,13811110005,claims,delay,,太慢\n"
    ).encode()
    token = csrf_from(client.get(f"/complaints/import?lang={locale}").text)
    page = client.post(
        f"/complaints/import?lang={locale}",
        data={"csrf_token": token},
        files={"file": ("list.csv", content, "text/csv")},
    )
    assert page.status_code == 422
    cells = {
        int(line): unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        for line, cell in re.findall(r'<tr data-line="(\d+)"><td>\d+</td><td>[^<]*</td><td>(.*?)</td></tr>', page.text)
    }
    assert cells[2].startswith(translate(locale, forms.PHONE))
    assert cells[3].startswith(translate(locale, forms.REQUIRED))
    if locale == "zh":
        assert all(not re.search(r"[A-Za-z]{4,}", text) for text in cells.values()), cells
    assert _count(office) == before


@pytest.mark.parametrize("locale", LOCALES)
def test_reversed_and_absurd_date_ranges_are_refused_on_the_filters(office: Office, signed_in, locale: str):  # noqa: F811
    client = signed_in(office.handler)
    surveys = client.get("/surveys/results", params={"from": "2026-11-30", "to": "2026-11-01", "lang": locale})
    assert surveys.status_code == 422 and 'data-field="to"' in surveys.text
    alert = unescape(
        re.sub(r"<[^>]+>", "", re.search(r'id="results-error"[^>]*>(.*?)</p>', surveys.text, re.S).group(1))
    )
    assert translate(locale, forms.RANGE) in alert
    assert 'id="f-to" aria-invalid="true"' in surveys.text
    if locale == "zh":
        assert "“to”" not in alert and "before its start" not in alert
    absurd = client.get("/surveys/results", params={"from": "0001-01-01", "to": "2026-11-01", "lang": locale})
    assert absurd.status_code == 422
    assert translate(locale, forms.YEARS) % {"first": 1900, "last": 2999} in unescape(absurd.text)
    keywords = client.get("/complaints/keywords", params={"from": "2026-10", "to": "2026-09", "lang": locale})
    assert keywords.status_code == 422
    assert _error(keywords.text, "err-period_to") == translate(locale, forms.RANGE)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_login_form_answers_in_the_pages_language_and_keeps_the_name(database, locale: str):
    client = TestClient(shared_app())
    token = csrf_from(client.get(f"/login?lang={locale}").text)
    page = client.post("/login", data={"username": "nobody", "password": "", "csrf_token": token})
    assert page.status_code == 401
    found = re.search(r'id="login-error">(.*?)</p>', page.text, re.S)
    assert found and found.group(1) == translate(locale, "Wrong username or password.")
    assert bool(CJK.search(found.group(1))) == (locale == "zh")
    assert 'name="username" value="nobody"' in page.text
