"""The rectification board and page in a real Chromium: the owner finds the overdue rectification first on
the board, opens it, submits the plan (the plan clock stops), records progress and submits for acceptance;
the quality manager accepts it from the page; the board then lists it under its new state. Also at a phone's
width. Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (zh and en, desktop and phone)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.factories import PASSWORD
from tests.rectification.helpers import Office, local
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def opened(office: Office) -> tuple[Office, int, int]:
    late = office.open(source_id=1, at=local(2026, 8, 3, 10))
    fresh = office.open(source_id=2, at=local(2026, 12, 1, 10), severity="severe", title="材料一次性告知缺失")
    return office, late, fresh


@pytest.fixture
def live_server(opened: tuple[Office, int, int]) -> Iterator[str]:
    with serve() as url:
        yield url


def _shot(page: Page, suffix: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{suffix}.png"), full_page=True)


def _sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_board_page_plan_and_acceptance(page: Page, opened: tuple[Office, int, int]) -> None:
    office, late, fresh = opened
    _sign_in(page, office.username("owner"))
    page.goto("/rectifications")
    rows = page.locator("#rectifications tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-id", str(late))  # overdue first
    expect(rows.nth(0)).to_have_attribute("data-light", "red")
    expect(rows.nth(0).locator(".source a")).to_have_attribute("href", "/inspections/findings/1")
    _shot(page, "board-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "board-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    rows.nth(0).locator(".number a").click()
    expect(page).to_have_url(f"/rectifications/{late}")
    expect(page.locator("#rectification-status")).to_have_attribute("data-status", "open")
    expect(page.locator("article.clock[data-policy=rectification_plan]")).to_have_attribute("data-light", "red")
    expect(page.locator("article.clock[data-policy=rectification_plan] .due-yellow time")).to_have_text(
        "2026-09-03 00:00"
    )
    page.fill("#action-plan textarea", "1. 拒赔通知书模板加入理由条款\n2. 全员培训")
    page.click("#do-plan")
    expect(page.locator("#rectification-status")).to_have_attribute("data-status", "plan_submitted")
    plan_clock = page.locator("article.clock[data-policy=rectification_plan]")
    expect(plan_clock).to_have_attribute("data-outcome", "breached")
    page.fill("#action-progress textarea", "已完成培训")
    page.click("#do-progress")
    page.fill("#action-submit textarea", "整改完成，附签到表")
    page.set_input_files(
        "#evidence-form input[type=file]",
        files=FilePayload(name="签到表.png", mimeType="image/png", buffer=b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
    )
    page.click("#do-evidence")
    expect(page.locator("#evidence-list li")).to_have_count(1)
    page.fill("#action-submit textarea", "整改完成，附签到表")
    page.click("#do-submit")
    expect(page.locator("#rectification-status")).to_have_attribute("data-status", "submitted_for_acceptance")
    expect(page.locator("#actions")).to_have_count(0)  # nothing more for the owner to do
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "page-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    _sign_in(page, office.username("qm"))
    page.goto(f"/rectifications/{late}")
    page.click("#do-accept")
    expect(page.locator("#rectification-status")).to_have_attribute("data-status", "accepted")
    expect(page.locator("#history-list li[data-kind=accept]")).to_have_count(1)
    _shot(page, "page-zh")
    page.goto(f"/rectifications/{late}?lang=en")
    expect(page.locator("#history-title")).to_have_text("Timeline")
    _shot(page, "page-en")
    page.goto("/rectifications?status=accepted")
    expect(page.locator("#rectifications tbody tr")).to_have_count(1)
    page.goto("/rectifications")
    expect(page.locator("#rectifications tbody tr")).to_have_count(1)
    expect(page.locator("#rectifications tbody tr")).to_have_attribute("data-id", str(fresh))
    _shot(page, "board-en")
