"""In headless Chromium, one walk through the provider tasks (issue 21): an adjuster sends an appraisal from the
claim page (the kind swaps the providers and documents in place), the task page shows its deadline; the
provider's report arrives (posted through the service here); the adjuster disputes it on the task page and a
supervisor decides the dispute. CLAIMWATCH_SCREENSHOT=/tmp/t.png keeps screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from tests.apps import shared_app
from tests.factories import PASSWORD, World
from tests.providers.test_task_pages import TaskWorld, build
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def tw(world: World) -> TaskWorld:
    return build(world, TestClient(shared_app()))


@pytest.fixture
def live_server(tw: TaskWorld) -> Iterator[str]:
    with serve() as url:
        yield url


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{name}.png"), full_page=True)


def _sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")


def test_send_an_appraisal_see_its_deadline_dispute_the_report_and_decide(page: Page, tw: TaskWorld):
    _sign_in(page, "acme.adj")
    page.goto("/claims/C-SEND")
    form = page.locator("#send-task-form")
    expect(form).to_have_attribute("data-kind", "appraisal")
    page.select_option("#send-kind", "repair_estimate")  # htmx: the repair shops and their documents
    expect(form).to_have_attribute("data-kind", "repair_estimate")
    expect(page.locator("#send-provider option[value='RS-1']")).to_have_count(1)
    expect(form).not_to_have_class(re.compile(r"htmx-(added|settling)"))  # the new form is live
    page.select_option("#send-kind", "appraisal")
    expect(form).to_have_attribute("data-kind", "appraisal")
    expect(page.locator("#send-documents input[value='鉴定委托书']")).to_be_checked()
    page.select_option("#send-provider", "AG-1")
    page.fill("#send-instructions", "请对前保险杠及大灯损失进行鉴定")
    _shot(page, "claim-send")
    page.click("#do-send-task")
    expect(page).to_have_url(re.compile(r"/provider-tasks/PT-\d{6}-\d{5}$"))
    expect(page.locator("#task-due")).to_have_attribute("data-light", "green")
    expect(page.locator("#task-due time")).to_be_visible()
    expect(page.locator("#task-status")).to_have_attribute("data-status", "sent")
    number = page.url.rsplit("/", 1)[1]

    tw.tasks["walk"] = number
    tw.report("walk")  # the provider answers through its API (the service, here)
    page.reload()
    expect(page.locator("#task-status")).to_have_attribute("data-status", "reported")
    expect(page.locator("#report-fields [data-field='amount_assessed']")).to_contain_text("28000")
    page.fill("#dispute-reason", "维修项目与现场照片不符，金额偏高")
    page.click("#do-dispute")
    expect(page.locator("#task-status")).to_have_attribute("data-status", "disputed")
    dispute = page.locator("#dispute-list li[data-by='handler']")
    expect(dispute).to_have_attribute("data-outcome", "")
    _shot(page, "task-disputed")

    _sign_in(page, "acme.sup")
    page.goto(f"/provider-tasks/{number}")
    resolve = page.locator(".resolve-form")
    resolve.locator("input[value='upheld']").check()
    resolve.locator("textarea[name=note]").fill("经复核，估损金额偏高，要求重新出具报告")
    resolve.locator("button[type=submit]").click()
    expect(dispute).to_have_attribute("data-outcome", "upheld")
    expect(page.locator("#task-status")).to_have_attribute("data-status", "reported")
    _shot(page, "task-decided")
