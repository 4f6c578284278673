"""The quality dashboard in a real headless Chromium (Debian's /usr/bin/chromium via Playwright): the ECharts
charts render with data, drill-down and the language switch work.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep a screenshot of the dashboard (outside the repo).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from claimwatch.kpi import loader as kpi_loader
from tests.factories import PASSWORD
from tests.kpi.conftest import KpiWorld, take
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def live_server(kpi_world: KpiWorld) -> Iterator[str]:
    take()
    with serve() as url:
        yield url


def test_dashboard_charts_drill_down_and_language(page: Page, kpi_world: KpiWorld):
    page.goto("/dashboard?period=2026-11")
    page.fill("input[name=username]", kpi_world.quality)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/dashboard?period=2026-11")
    expect(page.locator("h1")).to_have_text("品质看板")
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text("品质看板")
    closure = page.locator("#kpi-closure_rate")
    expect(closure.locator(".kpi-value")).to_have_text("40.0%")
    expect(closure).to_have_attribute("data-light", "misses")
    expect(closure.locator(".kpi-light")).to_have_text("未达标")
    expect(page.locator("#kpi-audit_accuracy .kpi-value")).to_have_text("—")  # no inspection submitted here
    expect(page.locator("#kpi-satisfaction .kpi-value")).to_have_text("—")  # no survey answered yet

    # ECharts drew every trend chart and the lights chart on canvas, with data.
    available = sum(kpi.available for kpi in kpi_loader.catalogue())
    expect(page.locator("#trend-charts canvas, #trend-charts .chart-empty")).to_have_count(available)
    expect(page.locator("#lights-chart canvas")).to_have_count(1)
    series = page.evaluate(
        """() => window.claimwatchCharts.map(c => c.getOption().series.map(s => s.data.filter(v => v !== null
              && (typeof v !== 'object' || v.value > 0)).length))"""
    )
    drawn = page.locator("#trend-charts canvas").count()
    assert drawn >= 10 and len(series) == drawn + 1  # every drawn trend chart and the lights chart
    closure_chart = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('trend-closure_rate')).getOption().series[0].data"
    )
    values = [point["value"] if isinstance(point, dict) else point for point in closure_chart]
    assert values[-2:] == [100.0, 40.0]  # October, November
    assert all("url" in point for point in closure_chart[-2:] if isinstance(point, dict))  # each point drills down
    assert (
        page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('trend-closure_rate')).getOption().series.length"
        )
        == 2
    )  # actual and target
    lights = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('lights-chart')).getOption()")
    assert sum(item["value"] for item in lights["series"][0]["data"]) > 0
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)

    # Drill-down: by region, then into 上海市 (its claims only), then remove the filter again.
    page.click("a.by-link[data-by=region]")
    expect(page).to_have_url("/dashboard?period=2026-11&by=region")
    shanghai = page.locator('#drill-table tr[data-key="310000"]')
    expect(shanghai.locator("th")).to_have_text("上海市")
    shanghai.locator("a.drill-link").click()
    expect(page).to_have_url("/dashboard?period=2026-11&by=line&region=310000")
    expect(page.locator("#drill-crumbs")).to_contain_text("上海市")
    expect(page.locator("#kpi-closure_rate .kpi-value")).to_have_text("0.0%")
    page.click("#drill-crumbs a.crumb-remove")
    expect(page).to_have_url("/dashboard?period=2026-11&by=line")
    expect(page.locator("#kpi-closure_rate .kpi-value")).to_have_text("40.0%")

    # English, remembered; the charts draw again with English names.
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Quality dashboard")
    expect(page.locator("#kpi-closure_rate .kpi-light")).to_have_text("Misses target")
    expect(page.locator("#trend-charts figcaption").first).to_contain_text("Small-claim timeliness")
    available = sum(kpi.available for kpi in kpi_loader.catalogue())
    expect(page.locator("#trend-charts canvas, #trend-charts .chart-empty")).to_have_count(available)
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-en.png"), full_page=True)
