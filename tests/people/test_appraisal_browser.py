"""In headless Chromium: a supervisor opens their handler's scorecard (metrics, the trend and peer charts drawn),
writes the manager's comment; the handler sees it on their own page; another handler is refused the card (403)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, World
from tests.people.test_appraisal import AppraisalWorld, computed_world
from tests.snapshots import Snapshot
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page


@pytest.fixture
def aw(world: World, db_snapshot: Snapshot) -> AppraisalWorld:
    return db_snapshot("people.appraisal.computed", lambda: computed_world(world))


@pytest.fixture
def live_server(aw: AppraisalWorld) -> Iterator[str]:
    with serve() as url:
        yield url


def _sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")


def test_supervisor_comments_handler_reads_other_refused(page: Page, aw: AppraisalWorld) -> None:
    _sign_in(page, "chen.sup")
    page.goto("/people/appraisals?month=2026-11")
    page.click("#appraisal-list tr[data-staff='H1'] a")
    expect(page.locator("#appraisal-metrics tr[data-metric='sla_on_time']")).to_contain_text("75")
    expect(page.locator("#appraisal-trend canvas")).to_have_count(1)  # ECharts drew the trend
    page.fill("#comment-form textarea[name=comment]", "及时率需提升")
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#appraisal-comment")).to_have_text("及时率需提升")
    _sign_in(page, "li.adjuster")
    page.goto("/me/appraisal")
    expect(page.locator("#appraisal-comment")).to_have_text("及时率需提升")
    _sign_in(page, "wang.adjuster")
    response = page.goto("/people/appraisals/H1")
    assert response is not None and response.status == 403
    expect(page.locator("#appraisal-error")).to_be_visible()
