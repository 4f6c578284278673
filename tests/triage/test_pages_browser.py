"""In headless Chromium, one walk through the triage and risk pages: a supervisor opens a fast-tracked claim and
sees its route and the rule that fired, decides a high-risk claim waiting in the review queue (核查), and opens
the catastrophe event's page with its claims by region. CLAIMWATCH_SCREENSHOT=/tmp/t.png keeps screenshots
(zh, en and 390 px wide)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from tests.apps import shared_app
from tests.factories import PASSWORD, World
from tests.triage.test_pages import set_up
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def ids(world: World) -> tuple[int, int]:
    _acme, _bbb, review_id, event_id, _other = set_up(world, TestClient(shared_app()))
    return review_id, event_id


@pytest.fixture
def live_server(ids: tuple[int, int]) -> Iterator[str]:
    with serve() as url:
        yield url


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def test_fast_track_panel_review_decision_and_catastrophe_page(page: Page, ids: tuple[int, int]):
    review_id, event_id = ids
    page.goto("/login")
    page.fill("input[name=username]", "acme.sup")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")

    page.goto("/claims/FT-1")
    panel = page.locator("#triage-panel")
    expect(panel).to_have_attribute("data-route", "fast_track")
    expect(panel.locator("[data-rule='FT-MOTOR-DAMAGE']")).to_be_visible()
    expect(page.locator("#risk-level")).to_be_visible()
    _shot(page, "claim-zh")

    page.goto("/risk/review")
    row = page.locator(f"tr[data-review='{review_id}']")
    expect(row).to_have_attribute("data-claim", "RISK-1")
    row.locator("a.review-link").click()
    expect(page).to_have_url(f"/risk/review/{review_id}")
    expect(page.locator("#risk-flags [data-flag='late_report']")).to_be_visible()
    _shot(page, "review-zh")
    page.check("#decision-fraud_confirmed")
    page.fill("#review-reason-input", "同一修理厂多次虚增维修项目，经核实属实")
    page.click("#do-decide")
    expect(page.locator("#review-status")).to_have_attribute("data-status", "decided")
    expect(page.locator("#review-decision")).to_have_attribute("data-decision", "fraud_confirmed")
    page.goto("/risk/review?status=decided")
    expect(page.locator(f"tr[data-review='{review_id}']")).to_have_attribute("data-status", "decided")

    page.goto("/triage/catastrophes")
    page.locator("tr[data-code='TY-TEST'] a").click()
    expect(page).to_have_url(f"/triage/catastrophes/{event_id}")
    expect(page.locator("tr[data-region='440000'] td.claims")).to_have_text("1")
    expect(page.locator("[data-claim='CAT-1']")).to_be_visible()
    _shot(page, "catastrophe-zh")
    if SCREENSHOT:
        page.goto("/triage/rules?lang=en")
        _shot(page, "rules-en")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/risk/review?status=all&lang=zh")
        _shot(page, "review-390")
