"""In a real Chromium: the SLA escalation shows as a count on the supervisor's bell, the notifications
page lists it with its claim, marking it read clears the count; the settings page saves a choice."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.notify import jobs
from claimwatch.sla import jobs as sla_jobs
from tests import browsers
from tests.apps import shared_app
from tests.factories import PASSWORD, reported
from tests.notify.staff_helpers import add_branch, add_staff, inbox_of
from tests.sla.helpers import local, post_events
from tests.web.conftest import serve

SCREENSHOTS = os.environ.get("CLAIMWATCH_SCREENSHOT_DIR")  # e.g. /tmp/shots: the pages in zh and en

pytestmark = browsers.MARKS


@pytest.fixture(scope="module")
def browser(chromium: Browser) -> Iterator[Browser]:
    yield from browsers.lend(chromium)


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def test_the_bell_counts_the_escalation_and_the_page_lists_it(browser, world, smtp, monkeypatch):
    # A plain-http live server: the session cookie must not be Secure here.
    monkeypatch.setenv("CLAIMWATCH_PUBLIC_BASE_URL", "http://127.0.0.1")
    get_settings.cache_clear()
    tenant = world.tenant()
    add_branch(tenant, "ACME-B2")
    gd = add_staff(tenant, "gd.supervisor", Role.SUPERVISOR, tenant.branch_code, "gd.sup@insurer.example")
    add_staff(tenant, "zj.supervisor", Role.SUPERVISOR, "ACME-B2", "zj.sup@insurer.example")
    api = TestClient(shared_app())
    post_events(api, tenant.api_key, [reported("S-1-r", "S-1", org_code=tenant.branch_code, amount="3000")])
    assert sla_jobs.sweep(now=local(2026, 11, 3, 10)).yellow == 1
    jobs.deliver(now=local(2026, 11, 3, 10))
    assert [m.to for m in smtp.received] == ["gd.sup@insurer.example"]

    with serve() as url:
        context = browser.new_context(base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)

        _sign_in(page, "gd.supervisor")
        expect(page.locator("#bell-count")).to_have_text("1")  # loaded by htmx into the header
        page.click("#bell-link")
        expect(page).to_have_url(f"{url}/notifications")
        item = page.locator(".notification.unread")
        expect(item).to_have_count(1)
        expect(item.locator(".notification-link")).to_contain_text("S-1")
        expect(item.locator(".notification-link")).to_have_attribute("href", "/claims/S-1")
        _shot(page, "notifications-zh.png")
        page.goto("/notifications?lang=en")
        expect(page.locator("h1")).to_have_text("Notifications")
        _shot(page, "notifications-en.png")

        item.locator("button.mark-read").click()
        expect(page.locator(".notification.unread")).to_have_count(0)
        expect(page.locator("#bell-count")).to_have_count(0)
        assert inbox_of(tenant.id, gd.user_id)[0].read_at is not None

        page.click("#notification-settings")
        page.select_option("#email-sla_yellow", "digest")
        page.click("#settings-save")
        expect(page.locator("#settings-saved")).to_be_visible()
        expect(page.locator("#email-sla_yellow")).to_have_value("digest")
        _shot(page, "settings-en.png")
        page.goto("/notifications/settings?lang=zh")
        _shot(page, "settings-zh.png")

        # the other branch's supervisor has nothing
        other = browser.new_context(base_url=url, locale="zh-CN")
        other_page = other.new_page()
        _sign_in(other_page, "zj.supervisor")
        expect(other_page.locator("#bell-link")).to_be_visible()
        expect(other_page.locator("#bell-count")).to_have_count(0)
        other_page.goto("/notifications")
        expect(other_page.locator("#no-notifications")).to_be_visible()
        other.close()
        context.close()
        assert not errors, errors
