"""The decision letter in a real Chromium: the handler opens it from the complaint, sees it addressed by full
name, prints only the letter (print media hides the navigation and the buttons), and downloads the PDF.
Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots (screen and print, zh and en)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from claimwatch.auth.models import Role
from claimwatch.complaints import service as complaints_service
from tests.complaints.helpers import Desk, decision
from tests.factories import PASSWORD
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT


@pytest.fixture
def decided(desk: Desk) -> tuple[str, str]:
    number = desk.file(complainant={"name": "欧阳晓明", "phone": "13900001111"})
    with desk.session() as session:
        complaints_service.decide(session, desk.handler, number, decision())
    return number, desk.world.user("acme.printer", Role.COMPLAINT_HANDLER, desk.tenant)


@pytest.fixture
def live_server(decided: tuple[str, str]) -> Iterator[str]:
    with serve() as url:
        yield url


def _shot(page: Page, suffix: str) -> None:
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", f"-{suffix}.png"), full_page=True)


def test_handler_opens_prints_and_downloads_the_letter(page: Page, decided: tuple[str, str]):
    number, username = decided
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/complaints/{number}")
    expect(page.locator("#letter-text")).to_contain_text("欧***：")  # the stored copy, masked
    page.click("#letter-print-link")
    expect(page).to_have_url(f"/complaints/{number}/letter")
    expect(page.locator("#letter-salutation")).to_have_text("欧阳晓明：")
    expect(page.locator("#letter-toolbar")).to_be_visible()
    _shot(page, "letter-zh")
    page.emulate_media(media="print")
    expect(page.locator("#letter-toolbar")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#letter-doc")).to_be_visible()
    _shot(page, "letter-print")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("#letter-pdf")
    assert download.value.suggested_filename == f"投诉处理决定书-{number}.pdf"
    page.goto(f"/complaints/{number}/letter?lang=en")
    expect(page.locator("#letter-print")).to_have_text("Print")
    _shot(page, "letter-en")
