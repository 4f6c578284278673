"""In headless Chromium, the claimant's evidence receipt (存证回执): look the claim up on the public page,
download the receipt, which verifies offline with only its public key; then one byte of a stored event row is
changed in the database, and the receipt downloaded again no longer verifies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from claimwatch.evidence import receipts
from claimwatch.lookup import service as lookup_service
from tests.evidence.tamper import CONFIRMED, edit_event, ingest, lifecycle
from tests.factories import TenantHandle, World
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
LAST4 = "5678"  # tests.factories.reported's claimant phone 13812345678


@pytest.fixture
def acme(world: World) -> Iterator[TenantHandle]:
    lookup_service.clear_cache()  # insurers are cached by code: another test's database had other ids
    tenant = world.tenant("ACME", "示例保险")
    ingest(tenant.id, lifecycle("R-1", 3))
    yield tenant
    lookup_service.clear_cache()


@pytest.fixture
def page(browser: Browser, acme: TenantHandle) -> Iterator[Page]:
    with serve() as url:
        context = browser.new_context(base_url=url, locale="en-US", timezone_id="Asia/Shanghai", accept_downloads=True)
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        yield page
        context.close()
        assert not problems, problems


def _download(page: Page) -> bytes:
    with page.expect_download() as info:
        page.click("#receipt-download")
    download = info.value
    assert download.suggested_filename == "receipt-ACME-R-1.json"
    path = download.path()
    assert path is not None
    with open(path, "rb") as file:
        return file.read()


def test_the_claimant_downloads_a_receipt_that_verifies_until_the_stored_event_is_edited(
    page: Page, acme: TenantHandle
):
    page.goto("/lookup/ACME")
    page.fill("#claim_number", "R-1")
    page.fill("#phone_last4", LAST4)
    page.click("#lookup-submit")
    # In English: the Chinese of these strings (存证回执, 下载存证回执) comes with the catalogue.
    expect(page.locator("#claim-evidence h2")).to_have_text("Evidence receipt")
    expect(page.locator("#receipt-download")).to_have_text("Download evidence receipt")
    page.click("#receipt-howto summary")
    expect(page.locator("#receipt-howto")).to_contain_text("claimwatch evidence verify receipt.json")

    receipt = receipts.load(_download(page))
    assert receipt["claim"] == "R-1" and len(receipt["entries"]) == 4  # reported + three transitions
    verified = receipts.verify(receipt)  # offline: only the public key in the receipt
    assert verified is not None
    # The public key the receipt carries is the one the insurer publishes.
    keys = {k["key_id"]: k["public_key"] for k in page.request.get("/api/v1/evidence/keys").json()}
    head = receipt["entries"][0]["tree_head"]
    assert keys[head["key_id"]] == receipt["entries"][0]["public_key"]
    receipts.verify(receipt, public_key=keys[head["key_id"]])

    # Behind claimwatch's back, one character of the stored event row: 客户已确认 → 客户未确认.
    edit_event(acme.id, "R-1-t0", CONFIRMED.replace("已", "未"))
    tampered = receipts.load(_download(page))
    with pytest.raises(receipts.ReceiptError) as refused:
        receipts.verify(tampered)
    # The receipt names the edited entry (the second: R-1's first transition) and what no longer matches.
    assert refused.value.field == "entries[1].leaf.content_hash"
    assert "stored content was changed" in refused.value.message
