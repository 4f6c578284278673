"""In headless Chromium, one walk through a service request (h3): a 客服 handler opens an enquiry from the queue, sees
the knowledge base's suggested article, uses its answer (it lands in the reply box), sends the reply, resolves the
request with a code and says the article helped; the reply waits in the outbox and the request records the article.
CLAIMWATCH_SCREENSHOT=/tmp/t.png keeps screenshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kb.models import KbArticle
from claimwatch.notify.models import OutboxMessage
from claimwatch.servicedesk.models import ServiceRequest
from tests.factories import PASSWORD, World
from tests.servicedesk.requests_world import BASE, Desk, body, build, core, ok
from tests.servicedesk.test_pages import LOAN_ANSWER, _publish_article
from tests.snapshots import Snapshot
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


@pytest.fixture
def filed(desk: Desk) -> tuple[int, str]:
    article_id = _publish_article(desk)
    return article_id, ok(core(desk.a.api_key).post(BASE, json=body()), 201)["number"]


@pytest.fixture
def live_server(filed: tuple[int, str]) -> Iterator[str]:
    with serve() as url:
        yield url


def test_a_handler_answers_with_a_suggested_article_and_resolves(
    page: Page, desk: Desk, filed: tuple[int, str]
) -> None:
    article_id, number = filed
    page.goto("/login")
    page.fill("input[name=username]", "sr.cs")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")
    page.goto("/service-requests")
    page.locator(f"tr[data-number='{number}'] a").click()
    suggestion = page.locator(f"#suggestions li[data-article='{article_id}']")
    expect(suggestion).to_be_visible()
    suggestion.locator("a.use-answer").click()
    expect(page.locator("#r-text")).to_have_value(LOAN_ANSWER)
    page.click("#r-submit")
    expect(page.locator("#sr-history li[data-event='replied']")).to_be_visible()
    page.locator(f"#articles li[data-article='{article_id}'] button.helpful-yes").click()
    page.select_option("#s-code", "answered")
    page.check("#s-first-contact")
    page.click("#s-submit")
    expect(page.locator("#sr-status")).to_have_attribute("data-status", "resolved")
    expect(page.locator("#sr-resolution")).to_have_attribute("data-code", "answered")
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        record = session.execute(select(ServiceRequest).where(ServiceRequest.number == number)).scalar_one()
        assert record.articles_used == [article_id] and record.first_contact_resolved is True
        message = session.execute(select(OutboxMessage).where(OutboxMessage.template == "service_reply")).scalar_one()
        assert "保单贷款" in message.body
        assert session.get(KbArticle, article_id).helpful_yes == 1  # type: ignore[union-attr]
