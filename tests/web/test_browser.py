"""A real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against uvicorn.

Never `playwright install`: the system browser is used. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import browsers
from tests.factories import PASSWORD
from tests.web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, Seeded

SCREENSHOT = os.environ.get("CLAIMWATCH_SCREENSHOT")  # e.g. /tmp/claims.png, to look at the layout

pytestmark = browsers.MARKS


@pytest.fixture(scope="module")
def browser(chromium: Browser) -> Iterator[Browser]:
    yield from browsers.lend(chromium)


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    # A Chinese-speaking user's browser; the pages default to Chinese anyway.
    context = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    # A wrong password answers 401 on purpose; Chromium logs every 4xx as "Failed to load resource".
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    yield page
    context.close()
    assert not problems, f"browser problems: {problems}"


def _expect_rows(page: Page, numbers: list[str]) -> None:
    """Waits until the table lists exactly these claims, in this order."""
    expect(page.locator("#claims-table tbody td.number")).to_have_text(numbers)


def test_sign_in_filter_open_a_claim_switch_language_and_sign_out(page: Page, seeded: Seeded):
    page.goto("/claims")
    expect(page).to_have_url("/login?next=%2Fclaims")
    expect(page.locator("h1")).to_have_text("登录")

    page.fill("input[name=username]", seeded.adjuster)
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/claims")
    expect(page.locator("h1")).to_have_text("赔案")
    _expect_rows(page, ["A-MOT-003", "A-MED-001", "A-MOT-002", "A-MOT-001"])
    first = page.locator('tr[data-number="A-MOT-001"]')
    expect(first.locator("td.status")).to_have_text("查勘")
    expect(first.locator("td.line")).to_have_text("车险")
    expect(first.locator("td.claimant")).to_have_text("张**")
    expect(first).to_contain_text("2026-11-02 09:00")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)

    # Filters swap only the table (htmx): the page itself is not reloaded, the address follows.
    page.evaluate("window.__notReloaded = true")
    page.select_option("#f-status", "investigation")
    _expect_rows(page, ["A-MOT-001"])
    expect(page).to_have_url("/claims?status=investigation")
    page.select_option("#f-status", "")
    page.select_option("#f-line", "medical")
    _expect_rows(page, ["A-MED-001"])
    expect(page).to_have_url("/claims?line=medical")
    expect(page.locator('tr[data-number="A-MED-001"] td.line')).to_have_text("医疗险")
    page.select_option("#f-line", "motor")
    _expect_rows(page, ["A-MOT-003", "A-MOT-002", "A-MOT-001"])
    page.fill("#f-number", "A-MOT-00")
    # Typing sends its request after a pause; wait for it, or its late history push cancels the click below.
    expect(page).to_have_url(re.compile(r"^(?!.*region=).*number=A-MOT-00"))
    page.select_option("#f-region", "310000")
    _expect_rows(page, ["A-MOT-002"])
    expect(page.locator("#f-region")).to_have_value("310000")  # the form itself was not replaced
    assert page.evaluate("window.__notReloaded") is True

    # A claim and its timeline, oldest first.
    page.select_option("#f-region", "")
    _expect_rows(page, ["A-MOT-003", "A-MOT-002", "A-MOT-001"])
    page.click('a[href="/claims/A-MOT-001"]')
    expect(page).to_have_url("/claims/A-MOT-001")
    expect(page.locator("h1")).to_have_text("赔案 A-MOT-001")
    expect(page.locator("#claimant-phone")).to_have_text("138********")
    expect(page.locator("#claimant-id")).to_have_text("1101**********1234")
    expect(page.locator("#timeline .to")).to_have_text(["报案", "受理", "初审", "待补材料", "查勘"])
    seqs = [int(s) for s in page.locator("#timeline tbody tr").evaluate_all("rows => rows.map(r => r.dataset.seq)")]
    assert len(seqs) == 6 and seqs == sorted(seqs)
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-claim.png"), full_page=True)
    html = page.content()
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html

    # English, and it sticks across pages.
    page.click("#lang-switch")
    expect(page).to_have_url("/claims/A-MOT-001?lang=en")
    expect(page.locator("h1")).to_have_text("Claim A-MOT-001")
    expect(page.locator("#claim-status")).to_have_text("Survey")
    expect(page.locator("#claim-line")).to_have_text("Motor")
    expect(page.locator("#timeline .to")).to_have_text(
        ["Reported", "Accepted", "Initial review", "Awaiting materials", "Survey"]
    )
    page.click('nav.mainnav a[href="/claims"]')
    expect(page.locator("h1")).to_have_text("Claims")
    expect(page.locator('tr[data-number="A-MED-001"] td.line')).to_have_text("Medical")
    expect(page.locator('tr[data-number="A-MED-001"] td.status')).to_have_text("Accepted")

    page.click("#logout")
    expect(page).to_have_url("/login")
    page.goto("/claims")
    expect(page).to_have_url("/login?next=%2Fclaims")


def test_filter_changes_after_the_session_ends_lead_to_login(page: Page, seeded: Seeded):
    page.goto("/login?next=/claims")
    page.fill("input[name=username]", seeded.adjuster)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    _expect_rows(page, ["A-MOT-003", "A-MED-001", "A-MOT-002", "A-MOT-001"])
    # The header's fragments (bell, to-do badge) load after the page: let them land first, or one of them,
    # refused once the cookies are gone, sends the page to the login before the filter does.
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    page.select_option("#f-line", "medical")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fclaims%3F"))
    expect(page.locator("h1")).to_have_text("登录")
