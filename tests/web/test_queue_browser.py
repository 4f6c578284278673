"""The supervisors' queue (督办队列) in a real Chromium at a common laptop size (1366×768): the
acknowledge action of every row is in view without scrolling sideways, in Chinese and in English, and
acknowledging shows a confirmation naming the claim and its clocks.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (outside the repo).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from claimwatch.lookup import service as lookup_service
from tests.apps import shared_app
from tests.factories import PASSWORD, transition
from tests.sla import queue_world
from tests.sla.queue_world import Queue
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
queue = queue_world.queue  # the fixture
SCREENSHOT = shared.SCREENSHOT
WIDTH, HEIGHT = 1366, 768
WAITING = ["accepted", "initial_review", "awaiting_materials"]


@pytest.fixture
def live_server(queue: Queue) -> Iterator[str]:
    lookup_service.clear_cache()  # the insurers of this test's database
    with serve() as url:
        yield url
    lookup_service.clear_cache()


@pytest.fixture
def laptop(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": WIDTH, "height": HEIGHT},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    yield page
    context.close()
    assert not problems, f"browser problems: {problems}"


def _actions_in_view(page: Page) -> int:
    """Every acknowledge button lies within the window's width, and nothing scrolls sideways."""
    buttons = page.locator("#queue td.ack button[type=submit]")
    count = buttons.count()
    assert count > 0
    for index in range(count):
        box = buttons.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
    overflow = page.evaluate(
        """() => [document.documentElement.scrollWidth - document.documentElement.clientWidth,
                  ...[...document.querySelectorAll('.table-scroll')].map(e => e.scrollWidth - e.clientWidth)]"""
    )
    assert max(overflow) <= 0, overflow
    return count


def test_the_acknowledge_action_is_in_view_at_1366_and_confirms(laptop: Page, queue: Queue):
    page = laptop
    page.goto("/login?next=%2Fsla%2Fqueue")
    page.fill("input[name=username]", queue.head)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/sla/queue")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-number", "Q-RED")
    assert _actions_in_view(page) == 3
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-queue-1366-zh.png"))

    # Acknowledge the first (red) row: the table is swapped with a confirmation naming the claim.
    first = page.locator('#queue tr[data-number="Q-RED"]')
    first.locator("input[name=note]").fill("已电话联系经办人")
    first.locator("button[type=submit]").click()
    confirmation = page.locator("#queue-confirmation")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text("Q-RED")
    expect(confirmation).to_contain_text("小额赔案结案时效")
    box = confirmation.bounding_box()
    assert box is not None and box["y"] < HEIGHT  # seen without scrolling
    expect(rows).to_have_count(2)
    expect(page.locator('#queue tr[data-number="Q-RED"]')).to_have_count(0)

    # Filters swap the table; an acknowledged row has no action.
    page.select_option("#f-ack", "acknowledged")
    expect(page).to_have_url("/sla/queue?ack=acknowledged")
    done = page.locator('#queue tr[data-number="Q-RED"]')
    expect(done).to_have_attribute("data-status", "acknowledged")
    expect(done.locator("button")).to_have_count(0)
    expect(done.locator("td.ack")).to_contain_text("已电话联系经办人")

    # English: longer words, the actions still in view.
    page.goto("/sla/queue?lang=en")
    expect(page.locator("h1")).to_have_text("Supervision queue")
    expect(rows).to_have_count(2)
    assert _actions_in_view(page) == 2
    expect(rows.first.locator("td.ack button")).to_have_text("Acknowledge")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-queue-1366-en.png"))
    rows.first.locator("button[type=submit]").click()
    expect(page.locator("#queue-confirmation")).to_contain_text("Acknowledged claim Q-JS")


def test_a_supervisor_sets_the_claim_type_and_the_claimant_sees_the_same_list(laptop: Page, queue: Queue):
    """Q-NEW goes to 待补材料 without a claim type: the claim page says to set it first; once set, the
    awaited items show on the claim page and on the claimant's lookup page alike."""
    api = TestClient(shared_app())
    events = [transition(f"qn-{i}", "Q-NEW", s, hours=201 + i) for i, s in enumerate(WAITING)]
    answer = api.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": queue.acme.api_key})
    assert answer.is_success, answer.text
    page = laptop
    page.goto("/login?next=%2Fclaims%2FQ-NEW")
    page.fill("input[name=username]", queue.head)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#materials-set-type-first")).to_be_visible()
    expect(page.locator("#no-escalations")).to_be_visible()
    page.select_option("#materials-claim-type", "theft")
    page.locator("#materials-profile-form input[value=agent_claim]").check()
    page.click("#materials-profile-save")
    expect(page.locator("#materials-saved")).to_be_visible()
    expect(page.locator("#materials-set-type-first")).to_have_count(0)
    awaited = page.locator("#materials-awaited li")
    expect(awaited).to_have_count(12)
    staff_items = awaited.evaluate_all("items => items.map(i => i.dataset.awaited)")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-claim-materials-zh.png"), full_page=True)
        page.goto("/claims/Q-RED?lang=en")
        page.screenshot(path=SCREENSHOT.replace(".png", "-claim-escalations-en.png"), full_page=True)

    # The claimant, on the lookup page (phone-sized layout, here at laptop width).
    page.goto("/lookup/ACME")
    page.fill("input[name=claim_number]", "Q-NEW")
    page.fill("input[name=phone_last4]", "5678")
    page.click("#lookup-submit")
    expect(page).to_have_url("/lookup/ACME/claim")
    claimant = page.locator("#missing-items li")
    expect(claimant).to_have_count(12)
    assert claimant.evaluate_all("items => items.map(i => i.dataset.item)") == staff_items
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-lookup-zh.png"), full_page=True)
