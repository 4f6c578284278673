"""The pages over plain HTTP: sign-in, redirects, CSRF, the claims list and filters, a claim's page,
masking, 404s that give nothing away, the language switch and the regulator's cross-tenant view."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import reported
from tests.web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, REASON_PHONE, Seeded, csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

ROW = re.compile(r'<tr data-number="([^"]+)">')
SEQ = re.compile(r'<tr data-seq="(\d+)">')


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def test_signed_out_visitors_are_sent_to_login(client: TestClient, seeded: Seeded):
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/my"
    listing = client.get("/claims", follow_redirects=False)
    assert listing.status_code == 303 and listing.headers["location"] == "/login?next=%2Fclaims"
    page = client.get("/claims/A-MOT-001", follow_redirects=False)
    assert page.status_code == 303
    location = urlsplit(page.headers["location"])
    assert location.path == "/login" and parse_qs(location.query) == {"next": ["/claims/A-MOT-001"]}
    # htmx would swap a followed redirect into the table; it is told to load the login page instead.
    fragment = client.get("/claims?status=accepted", headers={"HX-Request": "true"}, follow_redirects=False)
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")
    assert "A-MOT-001" not in fragment.text
    # The bell's count, polled by the page: after signing in the user comes back to the page, not the fragment.
    badge = client.get(
        "/notifications/badge",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/claims?status=accepted"},
        follow_redirects=False,
    )
    assert badge.status_code == 401
    assert parse_qs(urlsplit(badge.headers["HX-Redirect"]).query) == {"next": ["/claims?status=accepted"]}
    # A page of another origin is not a place to return to.
    foreign = client.get(
        "/notifications/badge",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/claims"},
        follow_redirects=False,
    )
    assert foreign.headers["HX-Redirect"] == "/login"
    login = client.get("/login")
    assert login.status_code == 200 and 'name="password"' in login.text


def test_wrong_password_and_unknown_user_get_the_same_401_form(client: TestClient, seeded: Seeded):
    token = csrf_from(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": seeded.adjuster, "password": "not-the-password", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"username": "nobody.here", "password": "not-the-password", "csrf_token": token}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "用户名或密码错误。" in response.text
        assert 'name="password"' in response.text
    assert wrong.text.replace(seeded.adjuster, "X") == unknown.text.replace("nobody.here", "X")
    assert client.get("/claims", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_session_csrf_token(client: TestClient, seeded: Seeded):
    client.get("/login")
    missing = client.post("/login", data={"username": seeded.adjuster, "password": "correct-horse-battery"})
    assert missing.status_code == 403 and "已过期" in missing.text
    other_session = csrf_from(TestClient(shared_app()).get("/login").text)
    forged = client.post(
        "/login", data={"username": seeded.adjuster, "password": "correct-horse-battery", "csrf_token": other_session}
    )
    assert forged.status_code == 403
    assert client.get("/claims", follow_redirects=False).status_code == 303


def test_sign_in_and_sign_out(client: TestClient, seeded: Seeded):
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": seeded.adjuster, "password": "correct-horse-battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/my"
    listing = client.get("/claims")
    assert listing.status_code == 200 and "li.adjuster" in listing.text
    # The token is renewed on sign-in: the one from the login form no longer works.
    assert client.post("/logout", data={"csrf_token": token}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/claims", follow_redirects=False).status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf_from(listing.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/claims", follow_redirects=False).status_code == 303
    # Signed in, /login goes straight on.
    sign_in(client, seeded.adjuster)
    again = client.get("/login", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/my"


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/claims/A-MOT-002", "/claims/A-MOT-002"),
        ("https://evil.example/x", "/my"),
        ("//evil.example/x", "/my"),
        ("/\\evil.example", "/my"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(client: TestClient, seeded: Seeded, next_url, expected):
    token = csrf_from(client.get("/login", params={"next": next_url}).text)
    response = client.post(
        "/login",
        data={"username": seeded.adjuster, "password": "correct-horse-battery", "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == expected


def test_claims_list_in_chinese_masked_with_local_times(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    response = client.get("/claims")
    html = response.text
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert rows(html) == ["A-MOT-003", "A-MED-001", "A-MOT-002", "A-MOT-001"]  # newest report first
    assert "B-MOT-001" not in html and "123,456.00" not in html  # the other insurer's claims
    assert "张**" in html and "张三丰" not in html
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html
    row = html[html.index('<tr data-number="A-MOT-001">') :]
    row = row[: row.index("</tr>")]
    for shown in ("车险", "查勘", "广东分公司", "广东省", "¥3,200.00", "li.adjuster"):
        assert shown in row, shown
    # Reported 09:00 Beijing time = 01:00 UTC: the screen shows local time, the markup keeps UTC.
    assert "2026-11-02 09:00" in row and 'datetime="2026-11-02T01:00:00+00:00"' in row
    medical = html[html.index('<tr data-number="A-MED-001">') :]
    assert '<td class="line">医疗险</td>' in medical[: medical.index("</tr>")]
    shanghai = html[html.index('<tr data-number="A-MOT-002">') :]
    assert '<td class="region">上海市</td>' in shanghai[: shanghai.index("</tr>")]
    assert ">保险公司<" not in html  # no tenant column for an insurer's own staff
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["cache-control"] == "no-store"


def test_filters_by_status_line_region_and_number(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    assert rows(client.get("/claims", params={"status": "investigation"}).text) == ["A-MOT-001"]
    assert rows(client.get("/claims", params={"status": "closed"}).text) == ["A-MOT-003"]
    assert rows(client.get("/claims", params={"line": "medical"}).text) == ["A-MED-001"]
    assert rows(client.get("/claims", params={"line": "motor", "status": "accepted"}).text) == []
    assert rows(client.get("/claims", params={"region": "310000"}).text) == ["A-MOT-002"]
    assert rows(client.get("/claims", params={"number": "A-MOT"}).text) == ["A-MOT-003", "A-MOT-002", "A-MOT-001"]
    assert rows(client.get("/claims", params={"number": "A-MOT-00%"}).text) == []  # LIKE wildcards are literal
    empty = client.get("/claims", params={"status": "rejected"}).text
    assert rows(empty) == [] and "没有符合条件的赔案。" in empty
    # The dropdowns carry the workflow's states and the region list, with the current choice selected.
    page = client.get("/claims", params={"status": "investigation", "region": "440000"}).text
    assert '<option value="investigation" selected>调查 / 查勘</option>' in page
    assert '<option value="440000" selected>广东省</option>' in page
    assert '<option value="medical">' in page


def test_htmx_filter_request_gets_only_the_table(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    full = client.get("/claims", params={"line": "medical"})
    assert "<html" in full.text and 'id="filters"' in full.text
    fragment = client.get("/claims", params={"line": "medical"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="claims-table"')
    assert "<html" not in fragment.text and 'id="filters"' not in fragment.text
    assert rows(fragment.text) == ["A-MED-001"]
    assert fragment.headers["HX-Push-Url"] == "/claims?line=medical"  # empty filters left out of the address
    # The language link outside the table follows the filters (out-of-band swap).
    assert 'id="lang-switch"' in fragment.text and 'hx-swap-oob="true"' in fragment.text
    assert "line=medical&amp;lang=en" in fragment.text
    # A history restore asks for the whole page.
    restore = client.get(
        "/claims", params={"line": "medical"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


def test_pagination(client: TestClient, seeded: Seeded):
    more = [reported(f"p{i}", f"P-{i:03d}", hours=20 + i) for i in range(30)]
    response = client.post("/api/v1/events", json={"events": more}, headers={"X-API-Key": seeded.acme.api_key})
    assert response.status_code == 201
    sign_in(client, seeded.adjuster)
    first = client.get("/claims").text
    assert len(rows(first)) == 25 and rows(first)[0] == "P-029"
    assert "第 1–25 条，共 34 件赔案" in first and "第 1 / 2 页" in first
    assert 'href="/claims?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/claims", params={"page": 2}).text
    assert rows(second) == [
        "P-004",
        "P-003",
        "P-002",
        "P-001",
        "P-000",
        "A-MOT-003",
        "A-MED-001",
        "A-MOT-002",
        "A-MOT-001",
    ]
    assert 'rel="next"' not in second and 'href="/claims"' in second
    filtered = client.get("/claims", params={"number": "P-", "page_size": 50}).text
    assert len(rows(filtered)) == 30 and "第 1 / 1 页" in filtered
    # Nonsense paging values fall back to defaults instead of failing.
    assert len(rows(client.get("/claims", params={"page": "x", "page_size": "7"}).text)) == 25


def test_claim_page_header_masked_and_timeline_in_order(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    response = client.get("/claims/A-MOT-001")
    html = response.text
    assert response.status_code == 200
    assert "赔案 A-MOT-001" in html
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html and REASON_PHONE not in html
    assert "138********" in html and "1101**********1234" in html and "张**" in html
    assert "139********" in html  # the reason's phone number is masked too
    timeline = html[html.index('id="timeline"') :]
    seqs = [int(s) for s in SEQ.findall(timeline)]
    assert len(seqs) == 6 and seqs == sorted(seqs)
    targets = re.findall(r'<span class="to">([^<]+)</span>', timeline)
    assert targets == ["报案", "受理", "初审", "待补材料", "查勘"]
    assert (
        '<span class="from">待补材料</span> <span aria-hidden="true">→</span> <span class="to">查勘</span>' in timeline
    )
    # The actor in words: the core system's key by name, never the audit trail's raw "api_key:…".
    assert "指派" in timeline and "系统接口" in timeline and "ACME-core" in timeline
    assert "api_key:ACME-core" not in timeline
    assert "2026-11-02 12:00:00" in timeline  # hours=3 after 09:00 local


def test_unknown_and_foreign_claims_get_the_same_404(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    foreign = client.get("/claims/B-MOT-001")
    unknown = client.get("/claims/NO-SUCH-CLAIM")
    assert foreign.status_code == unknown.status_code == 404
    # Identical but for the page's own address (in the language link).
    assert foreign.text.replace("B-MOT-001", "N") == unknown.text.replace("NO-SUCH-CLAIM", "N")
    assert foreign.text.count("B-MOT-001") == 1 and "未找到" in foreign.text
    # ACME's own A-MOT-001 is shown, not BBB's claim with the same number.
    own = client.get("/claims/A-MOT-001").text
    assert "¥3,200.00" in own and "123,456.00" not in own


def test_language_switch_sets_a_cookie_and_sticks(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    chinese = client.get("/claims").text
    assert "赔案号" in chinese and 'href="/claims?lang=en"' in chinese
    english = client.get("/claims", params={"lang": "en"})
    assert english.cookies.get("lang") == "en"
    assert '<html lang="en">' in english.text
    for label in ("Claim number", "Motor", "Survey", "Guangdong", "Sign out", "CN¥3,200.00"):
        assert label in english.text, label
    assert "赔案号" not in english.text and "查勘" not in english.text
    later = client.get("/claims/A-MOT-001").text
    assert "Timeline" in later and "Awaiting materials" in later and "处理时间线" not in later
    back = client.get("/claims/A-MOT-001", params={"lang": "zh"})
    assert back.cookies.get("lang") == "zh" and "处理时间线" in back.text


def test_regulator_sees_every_insurer_with_its_code(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.regulator)
    html = client.get("/claims").text
    assert ">保险公司<" in html and "全部保险公司" in html
    listed = re.findall(r'<td class="tenant">(\w+)</td>\s*<td class="number"><a href="([^"]+)">([^<]+)</a>', html)
    assert sorted(listed) == sorted(
        [
            ("ACME", "/claims/A-MOT-001?tenant=ACME", "A-MOT-001"),
            ("ACME", "/claims/A-MOT-002?tenant=ACME", "A-MOT-002"),
            ("ACME", "/claims/A-MED-001?tenant=ACME", "A-MED-001"),
            ("ACME", "/claims/A-MOT-003?tenant=ACME", "A-MOT-003"),
            ("BBB", "/claims/B-MOT-001?tenant=BBB", "B-MOT-001"),
            ("BBB", "/claims/A-MOT-001?tenant=BBB", "A-MOT-001"),
        ]
    )
    assert "共 6 件赔案" in html
    only_bbb = client.get("/claims", params={"tenant": "BBB"}).text
    assert rows(only_bbb) == ["A-MOT-001", "B-MOT-001"]
    assert rows(client.get("/claims", params={"tenant": "BBB", "status": "investigation"}).text) == []
    assert rows(client.get("/claims", params={"status": "investigation"}).text) == ["A-MOT-001"]
    bbb_claim = client.get("/claims/A-MOT-001", params={"tenant": "BBB"}).text
    acme_claim = client.get("/claims/A-MOT-001", params={"tenant": "ACME"}).text
    assert "¥123,456.00" in bbb_claim and "查勘" not in bbb_claim
    assert "¥3,200.00" in acme_claim and "查勘" in acme_claim
    assert CLEAR_PHONE not in bbb_claim + acme_claim and CLEAR_ID_NUMBER not in bbb_claim + acme_claim
    assert client.get("/claims/A-MOT-001", params={"tenant": "NOPE"}).status_code == 404
    assert client.get("/claims/B-MOT-001").status_code == 200  # found in whichever insurer has it
