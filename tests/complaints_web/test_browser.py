"""The complaint screens in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
a complaint handler files a complaint through the form, finds it in the queue, accepts and decides it,
and sees the decision clock stop and the letter.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots of the form, the queue and the complaint.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.complaints_web.conftest import Office
from tests.factories import PASSWORD
from tests.web import test_browser as shared
from tests.web.conftest import serve

# The browser, the page (with its watch for script errors and 5xx answers) and the browser marks.
pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def live_server(office: Office) -> Iterator[str]:
    """The browser's server, over the complaint office."""
    with serve() as url:
        yield url


def _shot(page: Page, suffix: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{suffix}.png"), full_page=True)


def test_handler_files_accepts_and_decides_a_complaint(page: Page, office: Office):
    page.goto("/complaints/new")
    expect(page).to_have_url("/login?next=%2Fcomplaints%2Fnew")
    page.fill("input[name=username]", office.handler)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/complaints/new")

    # The intake form: the sub-cause list follows the category (htmx), a bad phone comes back named.
    page.select_option("#f-channel", "email")
    page.fill("#f-claim-number", "A-MOT-001")
    page.fill("#f-name", "钱七")
    page.fill("#f-phone", "call me")
    page.select_option("#f-category", "claims")
    expect(page.locator("#f-sub-cause optgroup")).to_have_count(0)
    expect(page.locator("#f-sub-cause option[value=payment]")).to_have_count(1)
    page.select_option("#f-sub-cause", "payment")
    page.fill("#f-subject", "理赔款迟迟未到账")
    page.fill("#f-description", "结案后两周理赔款仍未到账，客服热线打不通。")
    page.click("#intake-submit")
    expect(page.locator("#err-phone")).to_be_visible()
    expect(page.locator("#f-subject")).to_have_value("理赔款迟迟未到账")  # what was typed is kept
    expect(page.locator("#f-sub-cause")).to_have_value("payment")
    _shot(page, "intake-error")
    page.fill("#f-phone", "13500004444")
    page.click("#intake-submit")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "received")
    number = page.locator("h1").inner_text().split()[-1]
    expect(page.locator("#complainant-phone")).to_have_text("135********")
    expect(page.locator("#complaint-claim")).to_have_text("A-MOT-001")
    decision_clock = page.locator('#clocks article[data-policy="complaint_decision"]')
    expect(decision_clock).to_have_attribute("data-state", "running")
    expect(decision_clock.locator(".light-text")).to_be_visible()

    # The queue: found by filtering on the channel, without reloading the page.
    page.goto("/complaints")
    page.evaluate("window.__notReloaded = true")
    page.select_option("#f-channel", "email")
    expect(page).to_have_url("/complaints?channel=email")
    rows = page.locator("#complaints tbody tr")
    expect(rows).to_have_count(1)
    row = page.locator(f'#complaints tr[data-number="{number}"]')
    expect(row.locator("td.subject")).to_have_text("理赔款迟迟未到账")
    expect(row.locator("td.complainant")).to_have_text("钱*")
    expect(row.locator(".light-text")).to_have_count(1)
    assert page.evaluate("window.__notReloaded") is True
    _shot(page, "queue")
    row.locator("td.number a").click()
    expect(page).to_have_url(f"/complaints/{number}")

    # Accept (the form is open by default), then decide.
    page.fill("#action-accept textarea[name=note]", "已与投诉人电话沟通")
    page.click("#do-accept")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "accepted")
    expect(page.locator('#history-table tr[data-kind="accepted"]')).to_have_count(1)
    page.click("#action-decide summary")
    page.select_option("#action-decide select[name=outcome]", "upheld")
    page.fill("#action-decide textarea[name=facts]", "经核实赔款因账户信息错误退回。")
    page.fill("#action-decide textarea[name=basis]", "依据保险合同约定及《保险法》第二十三条。")
    page.fill("#action-decide input[name=compensation]", "200")
    page.check("#action-decide input[name=first_contact]")
    page.click("#do-decide")

    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "decided")
    expect(decision_clock).to_have_attribute("data-state", "stopped")
    expect(decision_clock).to_have_attribute("data-outcome", "met")
    expect(page.locator("#letter-text")).to_contain_text(number)
    expect(page.locator("#letter-text")).to_contain_text("经核实赔款因账户信息错误退回。")
    expect(page.locator('#messages-table tr[data-template="complaint_decision_sms"]').first).to_be_visible()
    expect(page.locator('#clocks article[data-policy="complaint_review_window"]')).to_have_attribute(
        "data-state", "running"
    )
    expect(page.locator("#action-review-request")).to_have_count(1)
    assert "13500004444" not in page.content()
    _shot(page, "complaint")


def test_keyword_chart_draws_with_the_vendored_echarts(page: Page, office: Office):
    page.goto("/login")
    page.fill("input[name=username]", office.handler)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/complaints/keywords")
    expect(page.locator("#keyword-chart canvas")).to_have_count(1)
    assert page.evaluate("window.claimwatchKeywordChart.getOption().series.length") >= 1
    _shot(page, "keywords")
