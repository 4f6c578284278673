"""In a real Chromium: a plan's results page shows the estimate with its interval, the conclusions and the
strata chart; on the dashboard, a quality manager opens a special inspection from an alert with one click.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (outside the repo).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from claimwatch.config import get_settings
from claimwatch.inspections import estimates
from claimwatch.inspections import statistics as stats
from claimwatch.kpi import snapshot
from tests.factories import PASSWORD, World
from tests.inspections.conftest import Bureau, standard_claims
from tests.inspections.test_estimates import score
from tests.inspections.test_special import raise_alerts
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def bureau(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bureau:
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    found = Bureau(world)
    found.claims(standard_claims())
    plan_id = found.plan(code="STRAT", method="stratified", strata=["org"], size={"fixed": 7})
    score(found, int(found.draw(plan_id, period="2026-11")["id"]), {"org=ACME-B1": 1, "org=ACME-SH": 1})
    return found


@pytest.fixture
def live_server(bureau: Bureau) -> Iterator[str]:
    with serve() as url:
        yield url
    get_settings.cache_clear()


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def test_results_page_and_special_inspection_from_an_alert(page: Page, bureau: Bureau) -> None:
    page.goto("/inspections/plans/STRAT/results")
    page.fill("input[name=username]", "acme.qm")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/inspections/plans/STRAT/results")
    with bureau.session() as session:
        est = estimates.plan_results(session, "STRAT").current.estimate  # type: ignore[union-attr]
        assert est.accuracy_interval is not None
    expect(page.locator("#accuracy")).to_have_text(stats.percent(est.accuracy))
    low, high = (stats.percent(value) for value in est.accuracy_interval)
    expect(page.locator("#accuracy-interval")).to_contain_text(f"{low}")
    expect(page.locator("#accuracy-interval")).to_contain_text(f"{high}")
    expect(page.locator("#strata-table tbody tr")).to_have_count(3)
    expect(page.locator("#conclusions li").first).to_be_visible()
    expect(page.locator("#strata-chart canvas")).to_have_count(1)  # ECharts drew the rates and their intervals
    _shot(page, "results-zh")

    # An alert on SH in November; the dashboard (after a snapshot) offers the special inspection.
    sh = str(bureau.units["ACME-SH"])
    [alert_id] = raise_alerts(bureau, ("org", sh, "2026-11"))
    snapshot.take_snapshot()
    page.goto("/dashboard?period=2026-11")
    row = page.locator(f'#alerts-table tr[data-unit="{sh}"]')
    row.locator("button.open-special").click()
    expect(page).to_have_url(f"/inspections/plans/ALERT-{alert_id}")
    expect(page.locator("h1")).to_contain_text("专项检查")
    page.goto("/dashboard?period=2026-11&lang=en")
    expect(row.locator("a.special-plan")).to_have_text(f"ALERT-{alert_id}")
    expect(page.locator("#kpi-audit_accuracy .kpi-interval")).to_have_count(0)  # nothing submitted in November
    _shot(page, "alerts")
    page.goto("/dashboard?period=2026-12")  # the inspections were submitted in December
    expect(page.locator("#kpi-audit_accuracy .kpi-value")).to_have_text(f"{100 * (est.accuracy or 0):.1f}%")
    expect(page.locator("#kpi-audit_accuracy .kpi-interval")).to_contain_text(f"{100 * est.accuracy_interval[0]:.1f}%")
    _shot(page, "dashboard")
    page.goto("/inspections/plans/STRAT/results?lang=en")
    expect(page.locator("#accuracy")).to_have_text(stats.percent(est.accuracy))
    _shot(page, "results-en")
    # On a phone the page fits its width (the strata table scrolls inside its card).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#strata-chart canvas")).to_have_count(1)
    _shot(page, "results-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
