"""The scorecard form in a real Chromium at a phone's width (390 px): an inspector signs in, opens the case
from their worklist, fails one item (first without saying why: the item is marked in Chinese), submits,
records a major finding and sees the rectification it opened.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (outside the repo).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from claimwatch.inspections import work_pages
from claimwatch.web.i18n import translate
from tests.factories import PASSWORD
from tests.inspections.results_world import INSPECTOR, ResultsWorld, build
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def results(world) -> ResultsWorld:
    return build(world)


@pytest.fixture
def phone(browser: Browser, results: ResultsWorld) -> Iterator[Page]:
    with serve() as url:
        context = browser.new_context(
            base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 390, "height": 844}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        yield page
        context.close()
        assert not problems, f"browser problems: {problems}"


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def test_inspector_scores_a_case_and_records_a_finding(phone: Page, results: ResultsWorld) -> None:
    page = phone
    page.goto("/inspections/my")
    page.fill("input[name=username]", INSPECTOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/inspections/my")
    paid = results.inspections["M-PAID"]
    page.click(f"#inspection-{paid} a")
    expect(page).to_have_url(f"/inspections/{paid}")
    # Nothing on the page is wider than the phone.
    _shot(page, "form")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)"
        ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide

    passed = ("materials_notice_once", "decision_deadline", "payment_computed", "payment_on_time", "claimant_informed")
    for code in passed:
        page.check(f"input[name=outcome-{code}][value=pass]")
    # The claim was not rejected: its written rejection reasons (art. 24) may be N/A; file_complete may not.
    page.check("input[name=outcome-rejection_reasons][value=na]")
    expect(page.locator("input[name=outcome-file_complete][value=na]")).to_have_count(0)
    page.check("input[name=outcome-file_complete][value=fail]")
    page.click("#submit-result")
    # In the page's language (zh: 请说明该项不合格的原因。 once the catalogue has it).
    expect(page.locator("#err-file_complete")).to_have_text(translate("zh", work_pages.FAIL_NEEDS_COMMENT))
    expect(page.locator("input[name=outcome-file_complete][value=fail]")).to_be_checked()  # kept
    _shot(page, "refused")

    page.fill("input[name=comment-file_complete]", "缺少查勘照片")
    page.keyboard.press("Enter")  # keyboard: Enter in a field submits the result (the first button)
    expect(page.locator("#error-mark")).to_be_visible()
    expect(page.locator("#score")).to_have_text("88.2")
    _shot(page, "result")

    page.check("input[name=severity][value=major]")
    page.fill("#f-description", "查勘照片缺失，案卷不完整")
    expect(page.locator("#f-item")).to_have_value("file_complete")  # the failed item is proposed
    page.click("#record-finding")
    link = page.locator("#rectification-link")
    expect(link).to_be_visible()
    assert (link.get_attribute("href") or "").startswith("/rectifications/")
    _shot(page, "finding")
