"""In headless Chromium, one walk through the service rating (issue 16): the regulator opens a draft run, looks at
an insurer's breakdown in the drawer and approves the run; ACME's quality manager sees its own result with the
contribution chart (and nothing of another insurer) and files an objection; the regulator decides it.
CLAIMWATCH_SCREENSHOT=/tmp/r.png keeps screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.providers.test_pages_browser import _shot, _sign_in
from tests.supervision import test_rating_pages as pages
from tests.supervision.test_rating_pages import REGULATOR, RatingWorld
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT
rated = pages.rated  # the same stored world as the page tests


@pytest.fixture
def live_server(rated: RatingWorld) -> Iterator[str]:
    with serve() as url:
        yield url


def test_approve_see_own_breakdown_object_and_decide(page: Page, rated: RatingWorld):
    _sign_in(page, REGULATOR)
    page.goto("/ratings")
    _shot(page, "overview")
    page.click(f"#runs-table tr[data-run='{rated.run}'] a")
    expect(page).to_have_url(f"/ratings/runs/{rated.run}")
    expect(page.locator("#distribution-chart canvas")).to_have_count(1)
    page.click("#ranking-table thead th:nth-child(3) button.sort")  # by score, descending: ACME first
    page.click("#ranking-table thead th:nth-child(3) button.sort")  # ascending: CCC first
    expect(page.locator("#ranking-table tbody tr").first).to_have_attribute("data-tenant", "CCC")
    page.click(f"a.open-breakdown[data-result='{rated.results['BBB']}']")  # htmx: the drawer
    drawer = page.locator("#drawer")
    expect(drawer).to_be_visible()
    expect(drawer.locator(".deduction-row[data-kind='regulatory_penalty']")).to_be_visible()
    expect(drawer.locator(".breakdown-chart canvas")).to_have_count(1)
    _shot(page, "run-drawer")
    page.click("#drawer-close")
    expect(drawer).to_be_hidden()
    page.click("#do-approve")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "approved")
    if SCREENSHOT:
        page.goto("/ratings/deductions?lang=en")
        _shot(page, "deductions")

    _sign_in(page, "acme.qm")
    page.goto("/ratings?lang=en")
    expect(page.locator("#own-result")).to_have_attribute("data-result", str(rated.results["ACME"]))
    expect(page.locator("#own-band")).to_have_text("top 25 %")
    expect(page.locator("#own-breakdown-chart canvas")).to_have_count(1)
    expect(page.locator("#own-indicators tr[data-kpi]")).to_have_count(4)
    expect(page.locator("body")).not_to_contain_text("BBB")
    _shot(page, "insurer")
    page.fill("#f-objection-reason", "满意度指标口径与回访系统不一致，请复核")
    page.click("#do-object")
    expect(page.locator("#own-objections li[data-status='open']")).to_have_count(1)
    expect(page.locator("#objection-form")).to_have_count(0)

    _sign_in(page, REGULATOR)
    page.goto("/my")
    expect(page.locator("a[href^='/ratings/objections#objection-']")).to_have_count(1)
    page.goto("/ratings/objections")
    item = page.locator("#objection-list li[data-tenant='ACME']")
    expect(item).to_have_attribute("data-status", "open")
    item.locator("input[value='rejected']").check()
    item.locator("textarea[name=note]").fill("满意度口径符合评价办法，维持原评价结果")
    _shot(page, "objection-decide")
    item.locator("button[type=submit]").click()
    expect(page.locator("#objection-list li[data-tenant='ACME']")).to_have_attribute("data-status", "rejected")
    expect(page.locator("#objection-list li[data-tenant='ACME'] .decision")).to_contain_text(re.compile("维持原评价"))
