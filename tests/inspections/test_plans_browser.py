"""In a real Chromium: a quality manager opens the new-plan form (filled in as a stratified plan over last
month's motor claims), is told what is wrong with a share above 1 (nothing saved), saves the plan and draws
it, sees the strata and the sampled cases with their inspectors on the plan page, and reproduces the draw
with its seed.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (outside the repo).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from claimwatch.inspections.models import InspectionPlan
from tests.factories import PASSWORD, World
from tests.inspections.conftest import Bureau, standard_claims
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def bureau(world: World) -> Bureau:
    found = Bureau(world)
    found.claims(standard_claims())
    return found


@pytest.fixture
def live_server(bureau: Bureau) -> Iterator[str]:
    with serve() as url:
        yield url


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def _cases(page: Page) -> list[str]:
    return sorted(page.locator("#sampled tbody tr").evaluate_all("rows => rows.map(r => r.dataset.case)"))


def test_new_plan_draw_and_plan_page(page: Page, bureau: Bureau) -> None:
    page.goto("/inspections/plans/new")
    page.fill("input[name=username]", "acme.qm")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/inspections/plans/new")
    # Filled in: stratified by org unit over last month's closed motor claims.
    expect(page.locator("#f-method")).to_have_value("stratified")
    expect(page.locator("#f-line")).to_have_value("motor")
    expect(page.locator("#f-stratum-org")).to_be_checked()
    page.fill("#f-code", "motor-nov")
    page.fill("#f-period", "2026-11")
    page.fill("#f-size-share", "1.5")
    page.click("#save-plan")
    expect(page.locator("#form-problem")).to_be_visible()
    expect(page.locator("#err-size-share")).to_contain_text("0.05")
    expect(page.locator("#f-code")).to_have_value("motor-nov")  # the form keeps what was typed
    with bureau.session() as session:
        assert session.execute(select(func.count()).select_from(InspectionPlan)).scalar_one() == 0
    _shot(page, "form-error")

    page.select_option("#f-size-mode", "fixed")
    page.fill("#f-size-fixed", "3")
    page.check("#f-draw-now")
    page.click("#save-plan")
    expect(page).to_have_url("/inspections/plans/motor-nov")
    # The plan page: the draw's strata (closed motor claims of November: 2 at B1, 2 at SH) and its cases.
    expect(page.locator("#draw-strata tbody tr")).to_have_count(2)
    expect(page.locator("#draw-strata tr[data-stratum='org=ACME-B1'] td").first).to_have_text("2")
    rows = page.locator("#sampled tbody tr")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index).locator("td.inspector")).not_to_be_empty()
        expect(rows.nth(index)).to_have_attribute("data-status", "assigned")
    first = _cases(page)
    seed = page.locator("#draws tr[data-draw='1'] code.seed").inner_text()
    _shot(page, "plan")

    # Drawn again with its seed: the same cases (a second draw of the plan).
    page.fill("#f-draw-seed", seed)
    page.click("#draw-button")
    expect(page).to_have_url("/inspections/plans/motor-nov?draw=2")
    expect(page.locator("#draws tbody tr")).to_have_count(2)
    assert _cases(page) == first
    # A period with nothing to draw is refused on the page; nothing is drawn.
    page.fill("#f-draw-period", "2026-09")
    page.click("#draw-button")
    expect(page.locator("#draw-problem")).to_have_attribute("data-field", "population")
    expect(page.locator("#draws tbody tr")).to_have_count(2)

    # The list, in English; the form at a phone's width.
    page.goto("/inspections/plans?lang=en")
    expect(page.locator("tr[data-plan='motor-nov'] td.num")).to_have_text("2")
    expect(page.locator("h1")).to_have_text("Inspection plans")
    _shot(page, "list-en")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/inspections/plans/new")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    _shot(page, "form-phone")
