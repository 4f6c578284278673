"""Surveys in a real headless Chromium (Debian's /usr/bin/chromium via Playwright): a claimant answers on a
phone-sized screen (390×844) in Chinese; a quality manager finds the answer in the results table and
the chart has data.

Set CLAIMWATCH_SCREENSHOT_DIR to keep screenshots (default /tmp).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.surveys import jobs
from claimwatch.surveys.models import SurveyResponse
from tests.factories import PASSWORD, World
from tests.surveys.conftest import close_claim, now, token_for
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
SCREENSHOT_DIR = Path(os.environ.get("CLAIMWATCH_SCREENSHOT_DIR", "/tmp"))


@pytest.fixture
def live_server(database) -> Iterator[str]:
    with serve() as url:
        yield url


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return problems


def test_claimant_answers_on_a_phone_and_the_quality_manager_sees_it(
    browser: Browser, world: World, client: TestClient, live_server: str, database
):
    acme = world.tenant("ACME", "示例保险")
    quality = world.user("qian.quality", Role.QUALITY_MANAGER, acme)
    handler = world.user("li.adjuster", Role.ADJUSTER, acme)
    close_claim(
        client, acme, "CLM-2026-0001", now() - dt.timedelta(hours=3), assignee=handler, org_code=acme.branch_code
    )
    assert jobs.issue_due().claims == 1
    token = token_for(acme, "CLM-2026-0001")

    phone = browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    problems = _watch(page)
    page.goto(f"/survey/{token}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".lk-brand")).to_have_text("示例保险")
    expect(page.locator("#survey-subject")).to_contain_text("CL*******0001")
    expect(page.locator("#survey-subject")).to_contain_text("车险")
    expect(page.locator("#lang-switch")).to_have_text("English")
    # Phone-sized: nothing wider than the screen, and each score is a comfortable tap target.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator('label[for="overall-10"]').bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    page.screenshot(path=str(SCREENSHOT_DIR / f"survey-phone-{database.dialect}.png"), full_page=True)

    # Sending without the required overall score: the browser itself asks for it, nothing is sent.
    page.click("#survey-submit")
    expect(page).to_have_url(f"{live_server}/survey/{token}")
    page.tap('label[for="overall-9"]')
    page.tap('label[for="timeliness-8"]')
    page.tap('label[for="attitude-10"]')
    expect(page.locator("#overall-9")).to_be_checked()
    page.fill("#comment", "理赔员李先生很专业，回复及时。")
    page.click("#survey-submit")
    expect(page.locator("#survey-thanks")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/survey/{token}?submitted=1")
    page.goto(f"/survey/{token}")
    expect(page.locator("#survey-closed")).to_have_attribute("data-state", "answered")
    phone.close()
    assert not problems, problems

    with unit_of_work(TenantContext(tenant_id=acme.id, read_only=True)) as session:
        (answer,) = session.execute(select(SurveyResponse)).scalars()
        assert (answer.overall, answer.timeliness, answer.transparency, answer.attitude) == (9, 8, None, 10)

    desk = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    desk.set_default_timeout(15_000)
    page = desk.new_page()
    problems = _watch(page)
    page.goto("/surveys/results")
    page.fill("input[name=username]", quality)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/surveys/results")
    expect(page.locator("#nav-surveys")).to_have_attribute("aria-current", "page")
    row = page.locator("#results-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("th")).to_have_text("广东分公司")
    expect(row.locator("td.sent")).to_have_text("1")
    expect(row.locator("td.responded")).to_have_text("1")
    expect(row.locator("td.rate")).to_have_text("100.0%")
    expect(row.locator("td.overall")).to_have_text("9.00")
    expect(row.locator("td.timeliness")).to_have_text("8.00")
    expect(row.locator("td.transparency")).to_have_text("—")
    expect(page.locator("#comments-table tbody tr")).to_have_count(1)
    expect(page.locator("#comments-table td.handler")).to_have_text("li.adjuster")
    expect(page.locator("#comments-table td.comment")).to_have_text("理赔员李先生很专业，回复及时。")

    expect(page.locator("#results-chart canvas")).to_have_count(1)
    series = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('results-chart')).getOption().series.map(s => s.data)"
    )
    assert series == [[9.0], [8.0], [None], [10.0]]

    # Group by line of business through the link; the chart follows.
    page.click("a.by-link[data-by=line]")
    expect(page.locator("#results-table tbody tr th")).to_have_text("车险")
    labels = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('results-chart')).getOption().xAxis[0].data"
    )
    assert labels == ["车险"]
    page.screenshot(path=str(SCREENSHOT_DIR / f"survey-results-{database.dialect}.png"), full_page=True)
    desk.close()
    assert not problems, problems
