"""The English pages at a 1366 px laptop screen: nothing sticks out of the viewport sideways (wide tables scroll
inside their own box), and the top bar keeps the sign-out link on screen. A real Chromium against uvicorn."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from claimwatch.auth.models import Role
from tests import browsers
from tests.apps import shared_app
from tests.factories import PASSWORD, World
from tests.web.conftest import Seeded

pytestmark = browsers.MARKS
WIDTH = 1366
QUIET: dict[Page, browsers.NetworkQuiet] = {}  # each page's fragments (bell, badges, charts) land before it is measured
SHOTS = os.environ.get("CLAIMWATCH_LAYOUT_SHOTS")  # a directory: each page's screenshot, to look at the layout
# What sticks out of the viewport, outside a box that scrolls sideways itself.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const inScroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === 'auto' || x === 'scroll' || x === 'hidden') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1 && !inScroller(el)) {
      out.push(el.tagName + '#' + el.id + '.' + el.className);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, out: out.slice(0, 5)};
}"""


@pytest.fixture(scope="module")
def browser(chromium: Browser) -> Iterator[Browser]:
    yield from browsers.lend(chromium)


def _page(browser: Browser, live_server: str) -> Page:
    context = browser.new_context(
        base_url=live_server, locale="en-US", timezone_id="Asia/Shanghai", viewport={"width": WIDTH, "height": 800}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    QUIET[page] = browsers.NetworkQuiet(page)
    return page


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login?lang=en")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    QUIET[page].wait()


def _assert_fits(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response.status if response else None)
    QUIET[page].wait()
    assert page.locator("html").get_attribute("lang") == "en", path
    if SHOTS:
        name = path.strip("/").split("?")[0].replace("/", "-") or "home"
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
    found = page.evaluate(OVERFLOW)
    assert found["scrollWidth"] <= found["innerWidth"], (path, found)
    assert not found["out"], (path, found)
    logout = page.locator("#logout")
    if logout.count():
        box = logout.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH and box["y"] < 120, (path, box)


def test_the_english_pages_fit_a_1366_px_screen(browser: Browser, live_server: str, seeded: Seeded, world: World):
    handler = world.user("chen.handler", Role.COMPLAINT_HANDLER, seeded.acme)
    supervisor = world.user("wang.supervisor", Role.SUPERVISOR, seeded.acme)
    quality = world.user("qian.qm", Role.QUALITY_MANAGER, seeded.acme)
    filed = TestClient(shared_app()).post(
        "/api/v1/complaints",
        json={
            "channel": "regulator_12378",
            "external_ref": "12378-0001",
            "claim_number": "A-MOT-001",
            "category": "claims",
            "sub_cause": "delay",
            "subject": "理赔拖延，一个多月还没有结果，多次致电无人回复" * 2,
            "description": "报案一个月了还没有赔付。",
            "major_reasons": ["media"],
            "complainant": {"name": "张三丰", "phone": "13812345678"},
        },
        headers={"X-API-Key": seeded.acme.api_key},
    )
    assert filed.status_code == 201, filed.text
    number = filed.json()["number"]

    page = _page(browser, live_server)
    for path in ("/login?lang=en", "/lookup?lang=en"):
        _assert_fits(page, path)
    _sign_in(page, supervisor)
    for path in ("/claims", "/claims/A-MOT-001", "/sla/queue", "/sla/filings", "/my"):
        _assert_fits(page, path)
    page.context.close()

    page = _page(browser, live_server)
    _sign_in(page, handler)
    for path in ("/complaints", f"/complaints/{number}", "/complaints/new", "/complaints/import"):
        _assert_fits(page, path)
    # The queue's eleven columns fit without scrolling: its deadline column is what it is sorted by.
    page.goto("/complaints")
    scroller = page.locator("#complaint-queue .table-scroll")
    widths = "el => [el.scrollWidth, el.clientWidth, [...el.querySelectorAll('th')].map(th => th.offsetWidth)]"
    assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth"), scroller.evaluate(widths)
    for path in ("/complaints/keywords", "/surveys/results"):
        _assert_fits(page, path)
    page.context.close()

    page = _page(browser, live_server)
    _sign_in(page, quality)
    _assert_fits(page, "/dashboard")
    page.context.close()
