"""In headless Chromium, one article's way into the knowledge base: an editor (客服) writes a new article and
submits it for review; a supervisor sees it in the review queue with the new text marked, approves it; the
editor's search then finds it with the words marked. CLAIMWATCH_SCREENSHOT=/tmp/t.png keeps a screenshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.factories import PASSWORD
from tests.kb.test_pages import KbWorld, kbw  # noqa: F401 - the fixture
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page


@pytest.fixture
def live_server(kbw: KbWorld) -> Iterator[str]:  # noqa: F811 - the fixture
    with serve() as url:
        yield url


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")


def test_an_editor_writes_a_reviewer_approves_and_search_finds_it(
    page: Page,
    browser: Browser,
    live_server: str,
    kbw: KbWorld,  # noqa: F811 - the fixture
) -> None:
    _sign_in(page, "ka.cs")
    page.goto("/kb/new")
    page.fill("#e-code", "CL-9")
    page.select_option("#e-category", "claim_documents")
    page.fill("#e-question", "意外医疗理赔需要提供哪些材料？")
    page.fill(
        "#e-answer", "请提供理赔申请书、被保险人身份证件、门诊或住院病历、医疗费用发票原件和费用清单，以及收款银行卡。"
    )
    page.fill("#e-lines", "accident")
    page.click("#e-submit")
    expect(page).to_have_url("/kb/CL-9")
    expect(page.locator("#pending-version")).to_have_attribute("data-status", "submitted")

    context = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    reviewer = context.new_page()
    _sign_in(reviewer, "ka.sup")
    inbox = reviewer.locator("#section-kb-review")
    expect(inbox).to_have_attribute("data-count", "2")  # CO-1's new version and this one
    inbox.locator("li.todo-item", has_text="CL-9").locator("a.todo-title").click()
    review = reviewer.locator("section.kb-review[data-article='CL-9']")
    expect(review.locator("[data-part=answer] ins")).to_contain_text("医疗费用发票")
    review.locator("button.approve").click()
    expect(reviewer.locator("section.kb-review[data-article='CL-9']")).to_have_count(0)
    context.close()

    page.goto("/kb")
    page.fill("#kb-q", "理赔要带什么材料 发票")
    page.click("#kb-search-button")
    hit = page.locator("#kb-results li[data-article='CL-9']")
    expect(hit).to_be_visible()
    expect(hit.locator("mark").first).to_be_visible()
    if shared.SCREENSHOT:
        page.screenshot(path=shared.SCREENSHOT, full_page=True)
    hit.locator("a.kb-title").click()
    expect(page.locator("#article-status")).to_have_attribute("data-status", "published")
    expect(page.locator("#published-answer")).to_contain_text("医疗费用发票原件")
