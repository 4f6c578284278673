"""In headless Chromium: a quality manager generates last month's agenda (two proposed sanctions), raises an
improvement action from one item, is refused closing while the other is undecided (the message names it),
decides it and closes: the minutes show both decisions. CLAIMWATCH_SCREENSHOT=/tmp/c.png keeps screenshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.committee.test_committee import _people, _propose_sanction
from tests.factories import PASSWORD, World
from tests.web import test_browser as shared
from tests.web.conftest import serve

CST = dt.timezone(dt.timedelta(hours=8))
pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page


@pytest.fixture
def live_server(world: World) -> Iterator[str]:
    c = _people(world)
    _propose_sanction(c, 2)
    _propose_sanction(c, 3)
    with serve() as url:
        yield url


def _shot(page: Page, name: str) -> None:
    if shared.SCREENSHOT:
        page.screenshot(path=shared.SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def test_agenda_decide_and_close(page: Page) -> None:
    page.goto("/login")
    page.fill("input[name=username]", "qian.qm")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")
    page.goto("/committee")
    page.click("#generate")
    items = page.locator("#group-sanction_proposed article.agenda-item")
    expect(items).to_have_count(2)
    first = items.nth(0)
    first.locator("input[value=action_raised]").check()
    first.locator("textarea[name=text]").fill("先培训再处罚")
    first.locator("input[name=title]").fill("材料一次性告知培训")
    first.locator("select[name=owner_user_id]").select_option(label="wang.supervisor (wang.supervisor)")
    first.locator("input[name=due_on]").fill((dt.datetime.now(CST).date() + dt.timedelta(days=20)).isoformat())
    first.locator("button[type=submit]").click()
    expect(page.locator("#group-sanction_proposed .action-link")).to_have_count(1)
    _shot(page, "agenda")
    undecided = items.nth(1).get_attribute("data-item")
    number = items.nth(1).locator("h3").inner_text().split(" · ")[0]
    page.click("#close-minutes")
    expect(page.locator("#err-close")).to_contain_text(number)
    expect(page.locator("#meeting-status")).to_have_attribute("data-status", "draft")
    second = page.locator(f"#item-{undecided}")
    second.locator("input[value=noted]").check()
    second.locator("textarea[name=text]").fill("已知悉，下月复核")
    second.locator("button[type=submit]").click()
    # The decision is saved (the page came back) before the minutes are closed.
    expect(page.locator(f"#item-{undecided}")).to_have_attribute("data-decision", "noted")
    # Other groups may hold items too, depending on the day the test runs (a red KPI of last month when the world's
    # actions fall due around a month's end): they are noted as well, or the minutes could not close.
    others = page.locator('article.agenda-item[data-decision=""]')
    while others.count():
        item = others.first.get_attribute("data-item")
        other = page.locator(f"#item-{item}")
        other.locator("input[value=noted]").check()
        other.locator("textarea[name=text]").fill("已知悉")
        other.locator("button[type=submit]").click()
        expect(page.locator(f"#item-{item}")).to_have_attribute("data-decision", "noted")
    page.click("#close-minutes")
    minutes = page.locator("#minutes")
    # Closing writes the minutes and their audit entry: slower than a page under the full suite's load.
    expect(minutes).to_contain_text("已知悉，下月复核", timeout=20_000)
    _shot(page, "minutes")
