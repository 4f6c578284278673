"""The public lookup pages (TestClient): form, verification, the claim, uploads, language, isolation."""

from __future__ import annotations

import re

import pytest

from tests.lookup.conftest import LAST4, PDF, key, new_claim

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match
    return match.group(1)


def _post(client, token, insurer, number, last4="", code="", fixed=True):  # type: ignore[no-untyped-def]
    data = {"csrf_token": token, "insurer": insurer, "claim_number": number, "phone_last4": last4, "code": code}
    return client.post("/lookup?from=insurer" if fixed else "/lookup", data=data, follow_redirects=False)


def _with_notice(client, tenant, number):  # type: ignore[no-untyped-def]
    new_claim(client, tenant, number, waiting=False)
    profile = {"claim_type": "theft", "facts": []}
    client.put(f"/api/v1/claims/{number}/materials/profile", json=profile, headers=key(tenant))
    missing = client.get(f"/api/v1/claims/{number}/materials", headers=key(tenant)).json()["missing"]
    # the notice asks for one item: uploading it resumes the clock
    notice = client.post(f"/api/v1/claims/{number}/materials/notices", json={"items": missing[:1]}, headers=key(tenant))
    assert notice.status_code == 201, notice.text
    return missing


def test_look_up_see_the_claim_and_upload(client, world):
    acme = world.tenant("ACME", "示例保险")
    codes = _with_notice(client, acme, "CLM-1")
    form = client.get("/lookup/acme")
    assert form.status_code == 200
    assert "示例保险" in form.text and "查询" in form.text
    assert form.headers["content-security-policy"].startswith("default-src 'self'")
    token = _csrf(form.text)

    answer = _post(client, token, "ACME", "CLM-1", LAST4)
    assert answer.status_code == 303 and answer.headers["location"] == "/lookup/ACME/claim"
    cookie = answer.headers["set-cookie"]
    assert "claimwatch_lookup=" in cookie and "HttpOnly" in cookie and "Path=/lookup" in cookie

    page = client.get("/lookup/ACME/claim")
    assert page.status_code == 200
    html = page.text
    assert "CLM-1" in html and "受理" in html  # status label
    assert "材料收齐后将重新计算" in html  # waiting for the claimant: the clock is paused
    assert "13812345678" not in html and "138********" in html
    assert "ACME-core" not in html
    labels = re.findall(r'<option value="([a-z_]+)">', html)
    assert labels[: len(codes)] == codes

    upload = client.post(
        "/lookup/ACME/claim/documents",
        data={"csrf_token": _csrf(html), "item_code": codes[0]},
        files={"file": ("a.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    after = client.get(upload.headers["location"])
    assert 'id="upload-message"' in after.text and 'id="received-items"' in after.text
    expected = after.text.split('id="claim-expected"')[1].split("</div>")[0]
    assert "2026-11-03 09:00" in expected, expected  # the awaited item arrived: the clock runs again
    bad = client.post(
        "/lookup/ACME/claim/documents",
        data={"csrf_token": _csrf(html), "item_code": codes[1]},
        files={"file": ("a.exe", b"MZ\x90\x00", "application/x-msdownload")},
    )
    assert bad.status_code == 415 and "不接受此文件类型" in bad.text

    english = client.get("/lookup/ACME/claim?lang=en")
    assert "Accepted" in english.text and "Expected completion" in english.text


def test_failures_look_the_same_and_lock(client, world):
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    token = _csrf(client.get("/lookup").text)
    wrong = _post(client, token, "ACME", "CLM-1", "0000", fixed=False)
    unknown = _post(client, token, "ACME", "CLM-9", LAST4, fixed=False)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace("CLM-1", "N") == unknown.text.replace("CLM-9", "N")
    for _ in range(4):
        _post(client, token, "ACME", "CLM-1", "0000", fixed=False)
    locked = _post(client, token, "ACME", "CLM-1", LAST4, fixed=False)
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert client.get("/lookup/ACME/claim", follow_redirects=False).status_code == 303  # no session


def test_otp_request_page_is_neutral_and_csrf_is_checked(client, world):
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    token = _csrf(client.get("/lookup/ACME").text)
    data = {"csrf_token": token, "insurer": "ACME", "claim_number": "CLM-1"}
    known = client.post("/lookup/otp?from=insurer", data=data)
    unknown = client.post("/lookup/otp?from=insurer", data=data | {"claim_number": "CLM-9"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("CLM-1", "N") == unknown.text.replace("CLM-9", "N")
    assert "一次性验证码" in known.text
    forged = _post(client, "not-the-token", "ACME", "CLM-1", LAST4)
    assert forged.status_code == 403


def test_a_cookie_for_one_insurer_opens_nothing_at_another(client, world):
    acme = world.tenant("ACME")
    bbb = world.tenant("BBB")
    new_claim(client, acme, "CLM-1")
    new_claim(client, bbb, "CLM-1")
    token = _csrf(client.get("/lookup/ACME").text)
    assert _post(client, token, "ACME", "CLM-1", LAST4).status_code == 303
    assert client.get("/lookup/ACME/claim").status_code == 200
    other = client.get("/lookup/BBB/claim", follow_redirects=False)
    assert other.status_code == 303 and other.headers["location"] == "/lookup/BBB"
    assert client.get("/lookup/NOPE").status_code == 404
