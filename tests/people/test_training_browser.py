"""In headless Chromium (issue 18): the training coverage page shows 江苏分公司 below 100 % with its chart and the
person missing the induction (red, overdue); the quality manager opens the session and records their attendance;
the coverage page then shows the unit at 100 % and nobody overdue. CLAIMWATCH_SCREENSHOT=/tmp/t.png keeps
screenshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, World
from tests.people.test_training import TrainingWorld, build
from tests.snapshots import Snapshot
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def tw(world: World, db_snapshot: Snapshot) -> TrainingWorld:
    return db_snapshot("people.training", lambda: build(world))


@pytest.fixture
def live_server(tw: TrainingWorld) -> Iterator[str]:
    with serve() as url:
        yield url


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def test_coverage_shows_the_missing_person_and_their_attendance_brings_the_unit_to_100(page: Page, tw: TrainingWorld):
    page.goto("/login")
    page.fill("input[name=username]", "acme.qm")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")
    page.goto("/people/training")
    b2 = page.locator("#coverage-table tr[data-org='ACME-B2']")
    expect(b2).to_have_attribute("data-coverage", "0.0")
    expect(b2).to_have_class("overdue")
    missing = page.locator("#missing-table tr[data-staff='E3'][data-course='IND-STAFF']")
    expect(missing).to_have_attribute("data-state", "overdue")
    expect(missing).to_contain_text("赵逾期")
    expect(page.locator("#training-chart canvas")).to_have_count(1)  # the chart drew
    _shot(page, "coverage-before")
    page.click("#missing-table tr[data-staff='E3'] a[href='/people/training/courses/IND-STAFF']")
    expect(page).to_have_url("/people/training/courses/IND-STAFF")
    page.click(f"#sessions-table tr[data-session='{tw.sessions['ind-new']}'] a")
    page.fill("#f-staff", "E3")
    page.select_option("#f-passed", "yes")
    page.click("#attendance-submit")
    expect(page.locator("#attendance-table tr[data-staff='E3']")).to_contain_text("赵逾期")
    page.goto("/people/training")
    expect(page.locator("#coverage-table tr[data-org='ACME-B2']")).to_have_attribute("data-coverage", "100.0")
    expect(page.locator("#coverage-total")).to_have_attribute("data-coverage", "100.0")
    expect(page.locator("#missing-table tr[data-state='overdue']")).to_have_count(0)
    _shot(page, "coverage-after")
