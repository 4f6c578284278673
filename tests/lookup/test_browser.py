"""The lookup in a real headless Chromium at a phone-sized viewport (390×844): look a claim up, see
status, timeline, expected date and missing materials, upload a PDF. Each test runs on both databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests import browsers
from tests.lookup.conftest import LAST4, PDF, key, new_claim
from tests.web.conftest import serve

SCREENSHOT_DIR = Path(os.environ.get("CLAIMWATCH_SCREENSHOT_DIR", "/tmp"))

pytestmark = browsers.MARKS


@pytest.fixture(scope="module")
def browser(chromium: Browser) -> Iterator[Browser]:
    yield from browsers.lend(chromium)


def test_phone_lookup_and_upload(browser: Browser, client, world, tmp_path, database):
    acme = world.tenant("ACME", "示例保险")
    new_claim(client, acme, "CLM-2026-001", waiting=False)
    profile = {"claim_type": "theft", "facts": []}
    client.put("/api/v1/claims/CLM-2026-001/materials/profile", json=profile, headers=key(acme))
    missing = client.get("/api/v1/claims/CLM-2026-001/materials", headers=key(acme)).json()["missing"]
    # the notice asks for one item: uploading it resumes the clock
    notice = client.post(
        "/api/v1/claims/CLM-2026-001/materials/notices", json={"items": missing[:1]}, headers=key(acme)
    ).json()
    first_label = notice["items"][0]["label"]
    pdf = tmp_path / "报警回执.pdf"
    pdf.write_bytes(PDF)

    with serve() as url:
        context = browser.new_context(
            base_url=url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)

        page.goto("/lookup/ACME")
        expect(page.locator("h1")).to_have_text("查询赔案进度")
        page.fill("#claim_number", "CLM-2026-001")
        page.fill("#phone_last4", "0000")
        page.click("#lookup-submit")
        expect(page.locator("#lookup-message")).to_contain_text("无法核实")

        page.fill("#phone_last4", LAST4)
        page.click("#lookup-submit")
        expect(page).to_have_url(f"{url}/lookup/ACME/claim")
        expect(page.locator("#claim-status")).to_contain_text("受理")
        expect(page.locator("#claim-expected")).to_contain_text("时效暂停")  # waiting for the claimant
        expect(page.locator("#claim-timeline li")).to_have_count(2)
        expect(page.locator("#missing-items li").first).to_have_text(first_label)
        # phone-sized: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SCREENSHOT_DIR / f"lookup-claim-{database.dialect}.png"), full_page=True)

        page.select_option("#item_code", notice["items"][0]["code"])
        page.set_input_files("#file", str(pdf))
        page.click("#upload-submit")
        expect(page.locator("#upload-message")).to_contain_text(first_label)
        expect(page.locator("#received-items li")).to_have_text([first_label])
        expect(page.locator("#missing-items li")).to_have_count(len(missing) - 1)
        expect(page.locator("#expected-date")).to_have_text("2026-11-03 09:00")
        page.screenshot(path=str(SCREENSHOT_DIR / f"lookup-uploaded-{database.dialect}.png"), full_page=True)
        context.close()
        assert not problems, problems
