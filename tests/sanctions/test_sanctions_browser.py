"""In headless Chromium: a quality manager finds a proposed suspension in the inbox, opens it and approves it;
the suspended adjuster's next claim event is then refused with the message naming the end date and the
sanction. Set CLAIMWATCH_SCREENSHOT=/tmp/s.png to keep screenshots of the sanction page (zh, en, 390 px)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sanctions import service
from tests.factories import PASSWORD, reported
from tests.sanctions.conftest import SanctionWorld
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def proposed(sw: SanctionWorld) -> tuple[SanctionWorld, str]:
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        sanction = service.propose(
            session,
            sw.principal(sw.inspector),
            violation_code="REPEATED_SERIOUS_ERROR",
            user_id=sw.user_id(sw.adjuster),
            party=None,
            source_kind="inspection_finding",
            source_id=3,
            source_label="F-2026-000003",
            source_url="/inspections/findings/3",
            days=7,
            reason="赔款计算严重错误，且未告知客户",
        )
        return sw, sanction.number


@pytest.fixture
def live_server(proposed: tuple[SanctionWorld, str]) -> Iterator[str]:
    with serve() as url:
        yield url


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def test_quality_manager_approves_a_suspension_and_the_adjuster_is_refused(
    page: Page, browser: Browser, live_server: str, proposed: tuple[SanctionWorld, str]
):
    sw, number = proposed
    _sign_in(page, sw.qm)
    item = page.locator(f"#section-sanctions [data-key='{number}']")
    expect(item).to_be_visible()
    item.locator("a").first.click()
    expect(page).to_have_url(f"/sanctions/{number}")
    expect(page.locator("#sanction-status")).to_have_attribute("data-status", "proposed")
    _shot(page, "proposed-zh")
    page.fill("#f-note", "同意暂停")
    page.click("#approve")
    expect(page.locator("#sanction-status")).to_have_attribute("data-status", "approved")
    until = (dt.datetime.now(CST).date() + dt.timedelta(days=6)).isoformat()
    expect(page.locator("#sanction-until")).to_contain_text(until)
    expect(page.locator("#revoke-form")).to_be_visible()
    _shot(page, "approved-zh")
    if SCREENSHOT:
        page.goto(f"/sanctions/{number}?lang=en")
        _shot(page, "approved-en")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/sanctions/blacklist?lang=zh")
        _shot(page, "blacklist-390")

    context = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    adjuster = context.new_page()
    _sign_in(adjuster, sw.adjuster)
    answer = adjuster.evaluate(
        """async (event) => {
            const response = await fetch('/api/v1/events', {
                method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(event)});
            return {status: response.status, body: await response.json()};
        }""",
        reported("b1", "SUS-BROWSER-1"),
    )
    assert answer["status"] == 403
    assert answer["body"]["detail"] == f"您的理赔处理权限已被暂停至 {until}（处罚 {number}）"
    context.close()
