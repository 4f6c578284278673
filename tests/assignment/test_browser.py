"""The load page in a real Chromium at 1366 px: the chart draws, and rebalancing works from the page."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from claimwatch.assignment import jobs
from tests import browsers
from tests.assignment.helpers import Office
from tests.factories import PASSWORD
from tests.web.conftest import serve

SCREENSHOT_DIR = os.environ.get("CLAIMWATCH_SCREENSHOT_DIR")  # e.g. /tmp: look at the layout

pytestmark = browsers.MARKS


@pytest.fixture
def office(world) -> Office:
    found = Office(world)
    found.handler("a.one", lines=["motor"], authority="5000")
    found.handler("a.two", lines=["motor", "medical"], capacity=2)
    found.mode("active")
    found.report({"amount": "100.00"}, {"amount": "200.00"}, {"amount": "9000.00"})
    jobs.run_pass()
    found.report({"amount": "300.00"})
    jobs.run_pass()
    return found


@pytest.fixture
def page(office: Office, chromium: Browser) -> Iterator[Page]:
    with serve() as url:
        context = chromium.new_context(
            base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/login")
        page.fill("input[name=username]", "acme.sup")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        yield page
        context.close()
        assert errors == []


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, name), full_page=True)


def test_rebalance_from_the_page_at_1366(page: Page, office: Office):
    page.goto("/assignment")
    expect(page.locator("#handler-load tr[data-handler='a.two']")).to_be_visible()
    page.wait_for_function("window.claimwatchCharts && window.claimwatchCharts.length === 1")
    _shot(page, "assignment-zh.png")
    # An ineligible target is refused at its field and nothing moves.
    page.check("#pick-ACME-C0003")
    page.select_option("#f-handler", "a.one")
    page.fill("#f-reason", "均衡工作量")
    submit = page.locator("#rebalance-submit")
    box = submit.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1366  # the action is reachable without scrolling sideways
    submit.click()
    expect(page.locator("#err-handler")).to_be_visible()
    assert office.assignee("ACME-C0003") == "a.two"
    # Choose a claim a.one may take.
    page.uncheck("#pick-ACME-C0003")
    page.check("#pick-ACME-C0002")
    page.select_option("#f-handler", "a.one")
    page.fill("#f-reason", "均衡工作量")
    page.click("#rebalance-submit")
    expect(page.locator("#rebalance-done")).to_be_visible()
    assert office.assignee("ACME-C0002") == "a.one"
    page.goto("/assignment?lang=en")
    expect(page.locator("h1")).to_have_text("Workload and assignment")
    _shot(page, "assignment-en.png")
