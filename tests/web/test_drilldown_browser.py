"""Issue 12, "Done means": in a real Chromium, a quality manager clicks a red tile of the dashboard and lands
on a claim list whose count equals the tile's; a red KPI card's link does the same; a trend point opens its
month's claims. Screenshots of the dashboard and the list (zh and en) go to CLAIMWATCH_SCREENSHOT_DIR if set."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD
from tests.kpi.conftest import KpiWorld, take
from tests.kpi.conftest import client as client  # noqa: F401 - the KPI world's API client
from tests.kpi.conftest import kpi_world as kpi_world  # noqa: F401
from tests.kpi.conftest import snapshot_dir as snapshot_dir  # noqa: F401
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SHOTS = os.environ.get("CLAIMWATCH_SCREENSHOT_DIR")


@pytest.fixture
def live_server(kpi_world: KpiWorld) -> Iterator[str]:
    take()
    with serve() as url:
        yield url


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _listed(page: Page) -> int:
    summary = page.locator("#claims-summary")
    expect(summary).to_be_visible()
    return int(summary.get_attribute("data-total") or "-1")


def test_a_red_tile_opens_the_list_of_exactly_its_claims(page: Page, kpi_world: KpiWorld):
    page.goto("/dashboard?period=2026-11")
    page.fill("input[name=username]", kpi_world.quality)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/dashboard?period=2026-11")
    _shot(page, "dashboard-zh")
    red = page.locator("#open-lights tr[data-light=red] a.light-link")
    tile = int(red.inner_text())
    assert tile >= 1  # K3 is red in ACME (BBB's red claim is not ACME's)
    red.click()
    expect(page).to_have_url(re.compile(r"/claims\?.*light=red"))
    assert _listed(page) == tile
    expect(page.locator("table.claims tbody tr")).to_have_count(tile)
    expect(page.locator("table.claims tbody tr").first.locator(".light-red")).to_be_visible()
    _shot(page, "claims-red-zh")

    # A card that misses its target: its numerator's link leads to as many claims as it says.
    page.goto("/dashboard?period=2026-11")
    card = page.locator("#kpi-small_timeliness")
    expect(card).to_have_attribute("data-light", "misses")
    link = card.locator("a.drill-count").nth(1)  # the denominator: small claims with an outcome
    count = int(link.get_attribute("data-count") or "-1")
    assert count == 3  # K1 met; K2 and K3 breached
    link.click()
    expect(page).to_have_url(re.compile(r"/claims\?.*clock=timeliness_small"))
    assert _listed(page) == count
    expect(page.locator("#drill-filters .chip")).to_have_count(4)  # clock, from, to, outcome: removable

    # In English the same list keeps its filters and its count; the CSV link carries them.
    page.goto(page.url + "&lang=en")
    assert _listed(page) == count
    expect(page.locator("#claims-csv")).to_have_attribute("href", re.compile(r"/claims\.csv\?.*clock=timeliness_small"))
    _shot(page, "claims-drill-en")


def test_a_trend_point_opens_its_months_claims(page: Page, kpi_world: KpiWorld):
    page.goto("/dashboard?period=2026-11")
    page.fill("input[name=username]", kpi_world.quality)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_function("() => window.claimwatchCharts && window.claimwatchCharts.length > 0")
    option = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('trend-closure_rate')).getOption()")
    urls = [point["url"] for point in option["series"][0]["data"] if point.get("url")]
    assert any("reported_from=2026-11-01" in url and "state=closed" in url for url in urls)
    # Rates are drawn on 0–100 %, and the target line is labelled.
    assert option["yAxis"][0]["min"] == 0 and option["yAxis"][0]["max"] == 100
    assert option["series"][1]["endLabel"]["show"] is True
    # An indicator without data says so instead of drawing empty axes.
    expect(page.locator("#trend-satisfaction.chart-empty")).to_be_visible()
    # No target is not no data: complaints received has a figure and no target.
    expect(page.locator("#kpi-complaints_received .kpi-light")).to_have_attribute("data-status", "no-target")
    expect(page.locator("#kpi-satisfaction .kpi-light")).to_have_attribute("data-status", "no-data")
