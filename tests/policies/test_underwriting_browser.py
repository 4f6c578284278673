"""In headless Chromium, one walk through manual underwriting: a high-risk application waits in the queue; the
underwriter opens it, sees the fired factors and declines it with reasons; the decision is on the page
and the applicant's message waits in the outbox. CLAIMWATCH_SCREENSHOT=/tmp/t.png keeps screenshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import OutboxMessage
from tests.factories import PASSWORD
from tests.policies.test_underwriting import HIGH, Uw, application, core, ok, uw  # noqa: F401 - fixture
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page


@pytest.fixture
def live_server(uw: Uw) -> Iterator[str]:  # noqa: F811 - the fixture
    ok(core(uw.a).post("/api/v1/underwriting/applications", json=application("BR-1", **HIGH)), 201)
    with serve() as url:
        yield url


def test_high_risk_waits_then_is_declined_with_reasons_and_told(page: Page, uw: Uw) -> None:  # noqa: F811
    page.goto("/login")
    page.fill("input[name=username]", "ua.uw1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")
    page.goto("/underwriting")
    row = page.locator("tr[data-application='BR-1']")
    expect(row).to_have_attribute("data-level", "high")
    row.locator("a").click()
    expect(page.locator("#fired-factors tr[data-factor='AGE-60']")).to_be_visible()
    page.select_option("#d-outcome", "decline")
    page.fill("#d-review-reasons", "高龄且高血压，超出可承保范围")
    page.fill("#d-reason", "根据您告知的健康状况，本产品暂无法承保。")
    page.click("#d-submit")
    expect(page.locator("#decision-outcome")).to_have_attribute("data-outcome", "decline")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "decided")
    expect(page.locator("#decision-notice")).to_have_text("是")
    with unit_of_work(TenantContext.for_tenant(uw.a.id)) as session:
        message = session.execute(select(OutboxMessage).where(OutboxMessage.reference == "BR-1")).scalar_one()
    assert message.template == "underwriting_decision" and "暂无法承保" in message.body
