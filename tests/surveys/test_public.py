"""The customer's link: page and JSON API. Works once; expired, answered and unknown links get their own
clear answer (the same for any token that is not a survey's); bad scores are refused naming the field
with nothing stored; a cross-site post is refused; free text is masked before it is stored."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.surveys import jobs
from claimwatch.surveys.models import SurveyResponse
from tests.factories import TenantHandle, World
from tests.surveys.conftest import close_claim, now, surveys, token_for

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _issued(world: World, client: TestClient, number: str = "CLM-2026-0001") -> tuple[TenantHandle, str]:
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, number, now() - dt.timedelta(hours=3))
    assert jobs.issue_due().claims == 1
    return acme, token_for(acme, number)


def _responses(tenant: TenantHandle) -> list[SurveyResponse]:
    with unit_of_work(TenantContext(tenant_id=tenant.id, read_only=True)) as session:
        rows = list(session.execute(select(SurveyResponse)).scalars())
        session.expunge_all()
        return rows


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field"
    return match.group(1)


def _post(client: TestClient, token: str, csrf: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(f"/survey/{token}", data={"csrf_token": csrf, **fields}, follow_redirects=False)


def test_the_page_takes_one_answer(world: World, client: TestClient):
    acme, token = _issued(world, client)
    page = client.get(f"/survey/{token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert 'lang="zh-CN"' in html
    assert "示例保险" in html and "车险" in html
    assert "CLM-2026-0001" not in html and "CL*******0001" in html  # the case number, masked
    assert html.count('type="radio"') == 44  # four 0–10 scales
    assert 'name="overall" id="overall-0" value="0" required' in html

    answer = _post(
        client,
        token,
        _csrf(html),
        overall="9",
        timeliness="7",
        transparency="",
        attitude="10",
        comment="理赔员很耐心，我的电话 13912345678 请不要再打。\r\n谢谢",
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/survey/{token}?submitted=1"
    thanks = client.get(answer.headers["location"])
    assert thanks.status_code == 200 and 'id="survey-thanks"' in thanks.text

    (stored,) = _responses(acme)
    assert (stored.overall, stored.timeliness, stored.transparency, stored.attitude) == (9, 7, None, 10)
    assert stored.comment == "理赔员很耐心，我的电话 139******** 请不要再打。\n谢谢"
    (survey,) = surveys(acme)
    assert survey.status == "responded" and survey.responded_at == stored.submitted_at

    again = client.get(f"/survey/{token}")
    assert again.status_code == 409 and 'data-state="answered"' in again.text
    twice = _post(client, token, _csrf(html), overall="1")
    assert twice.status_code == 409
    assert len(_responses(acme)) == 1


def test_english_switch(world: World, client: TestClient):
    _, token = _issued(world, client)
    html = client.get(f"/survey/{token}").text
    assert f'href="/survey/{token}?lang=en"' in html
    english = client.get(f"/survey/{token}?lang=en")
    assert english.status_code == 200 and 'lang="en"' in english.text
    assert "Motor" in english.text
    assert english.cookies.get("lang") == "en" or "lang=en" in english.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"overall": ""}, "overall"),
        ({"overall": "11"}, "overall"),
        ({"overall": "-1"}, "overall"),
        ({"overall": "7.5"}, "overall"),
        ({"overall": "8", "timeliness": "ten"}, "timeliness"),
        ({"overall": "8", "attitude": "12"}, "attitude"),
        ({"overall": "8", "comment": "好" * 1001}, "comment"),
    ],
)
def test_bad_scores_are_refused_naming_the_field_and_nothing_is_stored(
    world: World, client: TestClient, fields: dict[str, str], field: str
):
    acme, token = _issued(world, client)
    csrf = _csrf(client.get(f"/survey/{token}").text)
    refused = _post(client, token, csrf, **fields)
    assert refused.status_code == 422
    assert f'data-field="{field}"' in refused.text
    assert 'id="survey-form"' in refused.text  # the form again, with what was entered
    assert _responses(acme) == []
    assert surveys(acme)[0].status == "sent"


def test_a_comment_of_exactly_1000_characters_with_crlf_line_ends_is_taken(world: World, client: TestClient):
    acme, token = _issued(world, client)
    csrf = _csrf(client.get(f"/survey/{token}").text)
    comment = ("好" * 99 + "\r\n") * 10  # 1000 characters once the line ends are one character each
    assert _post(client, token, csrf, overall="6", comment=comment).status_code == 303
    assert len(_responses(acme)[0].comment or "") == 999  # the trailing line end trimmed


def test_a_cross_site_post_is_refused(world: World, client: TestClient):
    acme, token = _issued(world, client)
    # another browser: no session, so no CSRF token of its own
    other = TestClient(client.app, base_url="https://testserver")
    refused = other.post(f"/survey/{token}", data={"overall": "0", "csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert _responses(acme) == []


def test_unknown_and_malformed_links_get_the_same_page(world: World, client: TestClient):
    _issued(world, client)
    pages = [
        client.get(f"/survey/{token}") for token in ("A" * 32, "not-a-token", "x", "%2E%2E", "A" * 200, "abc$def" * 4)
    ]
    assert {page.status_code for page in pages} == {404}
    bodies = {re.sub(r'(name="csrf_token" value=")[^"]+|href="[^"]*\?lang=en"', "", page.text) for page in pages}
    assert len(bodies) == 1
    assert 'data-state="unknown"' in pages[0].text
    posted = client.post("/survey/" + "A" * 32, data={"overall": "5", "csrf_token": "x"})
    assert posted.status_code == 404


def test_an_expired_link_is_refused(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-OLD", now() - dt.timedelta(days=40))
    # Sent 31 days ago: valid for 30 days, so it expired yesterday (before any pass marked it).
    assert jobs.issue_due(now=now() - dt.timedelta(days=31)).claims == 1
    token = token_for(acme, "C-OLD")
    assert surveys(acme)[0].status == "sent"
    page = client.get(f"/survey/{token}")
    assert page.status_code == 410 and 'data-state="expired"' in page.text
    assert client.get(f"/api/v1/public/surveys/{token}").status_code == 410
    assert client.post(f"/api/v1/public/surveys/{token}", json={"overall": 9}).status_code == 410
    assert jobs.issue_due().expired == 1  # the pass marks it
    assert surveys(acme)[0].status == "expired"
    assert client.get(f"/survey/{token}").status_code == 410
    assert _responses(acme) == []


def test_json_api(world: World, client: TestClient):
    acme, token = _issued(world, client)
    shown = client.get(f"/api/v1/public/surveys/{token}", headers={"Accept-Language": "en"})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["status"] == "open" and body["subject_type"] == "claim"
    assert body["reference"] == "CL*******0001" and body["insurer"] == "示例保险"
    assert [q["field"] for q in body["questions"]] == ["overall", "timeliness", "transparency", "attitude"]
    assert [q["required"] for q in body["questions"]] == [True, False, False, False]
    assert body["comment_max_length"] == 1000

    bad = client.post(f"/api/v1/public/surveys/{token}", json={"overall": 9, "attitude": 11})
    assert bad.status_code == 422
    assert [p["field"] for p in bad.json()["problems"]] == ["attitude"]
    missing = client.post(f"/api/v1/public/surveys/{token}", json={"timeliness": 5})
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "overall"
    extra = client.post(f"/api/v1/public/surveys/{token}", json={"overall": 5, "nps": 3})
    assert extra.status_code == 422
    # A simple cross-site form post (text/plain) is not a JSON body: refused.
    plain = client.post(
        f"/api/v1/public/surveys/{token}", content='{"overall": 5}', headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 422
    assert _responses(acme) == []

    done = client.post(f"/api/v1/public/surveys/{token}", json={"overall": 4, "comment": "身份证 110101199003071234"})
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "responded"
    assert _responses(acme)[0].comment == "身份证 110101********1234"
    again = client.post(f"/api/v1/public/surveys/{token}", json={"overall": 10})
    assert again.status_code == 409
    assert client.get(f"/api/v1/public/surveys/{token}").status_code == 409
    unknown = client.get("/api/v1/public/surveys/" + "B" * 32)
    assert unknown.status_code == 404
    # A refused link answers with the one error body, naming the token.
    assert unknown.json() == {
        "detail": "unknown survey link",
        "problems": [{"field": "token", "message": "unknown survey link"}],
    }
    assert again.json()["problems"] == [{"field": "token", "message": "this survey has already been answered"}]
    assert client.post("/api/v1/public/surveys/nope", json={"overall": 1}).status_code == 404
    assert len(_responses(acme)) == 1
