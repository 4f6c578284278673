"""The SLA screens in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
a supervisor works the queue (督办队列) and reads a claim's clocks, in Chinese and in English.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots of the queue and the claim (outside the repo).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD
from tests.web import test_browser as shared
from tests.web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, SlaWorld, serve

# The browser, the page (with its watch for script errors) and the marks of the claims-list browser test.
pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def live_server(sla: SlaWorld) -> Iterator[str]:
    """The browser's server, over the SLA world instead of the claims list's."""
    with serve() as url:
        yield url


def _queue_rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#queue tbody tr")


def test_supervisor_acknowledges_a_case_and_reads_the_clocks(page: Page, sla: SlaWorld):
    page.goto("/sla/queue")
    expect(page).to_have_url("/login?next=%2Fsla%2Fqueue")
    page.fill("input[name=username]", sla.supervisor)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/sla/queue")
    expect(page.locator("h1")).to_have_text("督办队列")
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text("督办队列")

    # One row per claim, red first, each light named in words.
    expect(_queue_rows(page)).to_have_count(2)
    red = page.locator('#queue tr[data-number="S-RED"][data-level="red"]')
    yellow = page.locator('#queue tr[data-number="S-YEL"][data-level="yellow"]')
    expect(red.locator("td.level .light-text")).to_have_text("红灯")
    expect(yellow.locator("td.level .light-text")).to_have_text("黄灯")
    expect(red).to_contain_text("小额赔案结案时效")
    expect(red).to_contain_text("2026-11-03 09:00")  # the first deadline passed, local time
    expect(_queue_rows(page).first).to_contain_text("2026-11-03 12:00")  # escalated at the first sweep
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-queue.png"), full_page=True)

    # 督办 one: htmx swaps the table; the page itself is not reloaded.
    page.evaluate("window.__notReloaded = true")
    red.locator("input[name=note]").fill("已电话联系经办人")
    red.locator("button[type=submit]").click()
    expect(page.locator("#queue-confirmation")).to_contain_text("S-RED")
    expect(_queue_rows(page)).to_have_count(1)
    expect(page.locator('#queue tr[data-number="S-RED"]')).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    page.select_option("#f-ack", "all")
    expect(page).to_have_url("/sla/queue?ack=all")
    done = page.locator('#queue tr[data-number="S-RED"][data-level="red"]')
    expect(done).to_have_attribute("data-status", "acknowledged")
    expect(done.locator("td.ack")).to_contain_text("已督办")
    expect(done.locator("td.ack")).to_contain_text("已电话联系经办人")

    # The claim, with its clocks: a light in colour and in words, due times in local time.
    done.locator("td.number a").click()
    expect(page).to_have_url("/claims/S-RED")
    expect(page.locator("#clocks h2")).to_have_text("时效")
    small = page.locator('#clocks article[data-policy="timeliness_small"]')
    expect(small.locator(".light-text")).to_have_text("红灯")
    expect(small.locator(".clock-state")).to_have_text("计时中")
    expect(small.locator(".due-yellow")).to_have_text("2026-11-03 09:00")
    expect(small.locator(".due-red")).to_have_text("2026-11-04 09:00")
    colour = small.locator(".light .dot").evaluate("dot => getComputedStyle(dot).backgroundColor")
    assert colour == "rgb(224, 49, 49)"
    expect(page.locator("#materials h2")).to_have_text("材料")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-claim-clocks.png"), full_page=True)
    html = page.content()
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html

    # English labels, and the queue in English too.
    page.click("#lang-switch")
    expect(page).to_have_url("/claims/S-RED?lang=en")
    expect(page.locator("#clocks h2")).to_have_text("Deadlines (SLA)")
    expect(small.locator(".light-text")).to_have_text("Red")
    expect(small.locator(".clock-state")).to_have_text("Running")
    expect(small.locator("h3")).to_have_text("Small-claim timeliness")
    expect(page.locator("#materials h2")).to_have_text("Materials")
    page.click("#nav-queue")
    expect(page.locator("h1")).to_have_text("Supervision queue")
    expect(page.locator('#queue tr[data-number="S-YEL"] td.level .light-text')).to_have_text("Yellow")
    expect(page.locator('#queue tr[data-status="open"] button[type=submit]').first).to_have_text("Acknowledge")
