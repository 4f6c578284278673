"""An improvement action in a real Chromium, in Chinese: the quality manager raises it from a red KPI (the form
pre-filled, a fishbone, two plan steps), starts Do; the steps are marked done, Do ends (→ Check); the
effectiveness check runs on a small KPI snapshot and the page shows its verdict and the before/after chart; Act
standardises it (the workflow's digest pinned) and it closes. The raise form and the action page fit a phone's
width. Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (zh, en, phone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from claimwatch.config import get_settings
from claimwatch.kpi import snapshot
from tests.apps import shared_app
from tests.kpi.helpers import close, ingest, report, steps
from tests.rectification.helpers import CST, Office
from tests.rectification.test_browser import _shot, _sign_in
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page


@pytest.fixture
def office(world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """ACME with six small claims over the last two months (two of them late) and a KPI snapshot of them."""
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    office = Office.create(world)
    now = dt.datetime.now(CST).replace(hour=9, minute=0, second=0, microsecond=0)
    events = []
    for i in range(6):
        start = now - dt.timedelta(days=10 + 9 * i)
        events += [report(f"r{i}", f"K{i}", start, org_code=f"{office.tenant.code}-B1")]
        events += close(f"K{i}", start, steps(1, 30.0 if i % 3 == 0 else 8.0))
    ingest(TestClient(shared_app()), office.tenant, events)
    snapshot.take_snapshot()
    yield office
    get_settings.cache_clear()


@pytest.fixture
def live_server(office: Office) -> Iterator[str]:
    with serve() as url:
        yield url


def test_raise_do_check_and_see_the_verdict(page: Page, office: Office) -> None:
    _sign_in(page, office.username("qm"))
    page.goto(f"/actions/new?source_kind=kpi&source_ref=small_timeliness&org={office.tenant.code}-B1")
    expect(page.locator("#raise-source")).to_contain_text("小额赔案结案时效达成率")
    expect(page.locator("#f-kpi-code")).to_have_value("small_timeliness")
    expect(page.locator("#f-scope-org-unit-id")).to_have_value(str(office.b1))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("window.innerWidth === 390")  # the resize has reached the page
    _shot(page, "new-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#raise-submit")  # no owner, no due date: both named, nothing raised
    expect(page.locator("#err-owner_user_id")).to_be_visible()
    expect(page.locator("#err-due_on")).to_be_visible()
    page.check("#m-fishbone")
    page.fill("textarea[name=fish_man]", "新人查勘员不熟悉小额快赔流程\n排班不足")
    page.fill("textarea[name=fish_method]", "小额案件未走快速通道")
    page.fill("#f-root-cause", "小额案件与大案同一流程排队")
    page.select_option("#f-owner-user-id", str(office.users["supervisor"]))
    due = (dt.datetime.now(CST).date() + dt.timedelta(days=30)).isoformat()
    page.fill("#f-due-on", due)
    page.fill("input[name=step_text_1]", "小额案件开通快速通道")
    page.select_option("select[name=step_owner_1]", str(office.users["owner"]))
    page.click("#add-step")  # a sixth row, added by the page's script
    page.fill("input[name=step_text_6]", "查勘员培训")
    page.click("#raise-submit")

    expect(page.locator("#action-phase")).to_have_attribute("data-phase", "plan")
    expect(page.locator("#fishbone .fish-man li")).to_have_count(2)
    expect(page.locator("#steps-table tbody tr")).to_have_count(2)
    expect(page.locator("#pdca-stepper li[aria-current=step]")).to_have_attribute("data-phase", "plan")
    page.click("#move-do")
    expect(page.locator("#action-phase")).to_have_attribute("data-phase", "do")
    page.click("#step-done-1")
    expect(page.locator("#steps-table tbody tr").first).to_have_attribute("data-done", "1")
    page.click("#step-done-2")
    page.click("#move-check")
    expect(page.locator("#action-phase")).to_have_attribute("data-phase", "check")
    page.select_option("#f-before-days", "90")
    page.click("#run-check")

    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "insufficient")  # Do ended today: nothing after yet
    expect(verdict).to_have_text("数据不足")
    expect(page.locator("#check-figures tr[data-side=before] td.n")).to_have_text("6")
    expect(page.locator("#check-chart canvas")).to_have_count(1)
    expect(page.locator("#history-list li[data-kind=check_run]")).to_have_count(1)
    _shot(page, "action-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("window.innerWidth === 390")  # the resize has reached the page
    _shot(page, "action-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#move-act")  # Act: standardise (a refusal first: no changed standard named)
    page.click("#do-standardise")
    expect(page.locator("#err-standardise")).to_have_attribute("data-field", "refs")
    page.select_option("select[name=ref_kind_1]", "workflow")
    page.fill("input[name=ref_code_1]", "motor")
    page.fill("input[name=ref_version_1]", "2026-12")
    page.click("#do-standardise")
    expect(page.locator("#action-phase")).to_have_attribute("data-phase", "closed")
    expect(page.locator("#standard-refs li[data-kind=workflow]")).to_contain_text("SHA-256")
    page.goto(page.url.split("#")[0] + "?lang=en")
    expect(page.locator("#verdict")).to_have_text("Not enough data")
    _shot(page, "action-en")
    page.goto("/actions?closed=1")
    expect(page.locator("#column-closed .action-card")).to_have_count(1)
    _shot(page, "board-en")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("window.innerWidth === 390")  # the resize has reached the page
    _shot(page, "board-phone")
