"""Every role's home in a real headless Chromium: sign in, land on 我的待办 (/my), open an item from the
inbox and complete it where the pages allow. Each test runs on SQLite and PostgreSQL.

Set CLAIMWATCH_SCREENSHOT=/tmp/x.png to keep screenshots of each home in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from claimwatch.config import get_settings
from claimwatch.kpi import snapshot
from tests.factories import PASSWORD, World
from tests.snapshots import Snapshot
from tests.todo.conftest import CST, TodoWorld, build, make_recent
from tests.web import test_browser as shared
from tests.web.conftest import serve

pytestmark = shared.pytestmark
browser = shared.browser
page = shared.page
SCREENSHOT = shared.SCREENSHOT
# The KPI snapshot is taken as of this moment: its last complete month is November 2026, the world's.
SNAPSHOT_AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=CST)


@pytest.fixture
def homes(
    world: World, db_snapshot: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TodoWorld, dict[str, str]]]:
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    todo, made = db_snapshot("web.role_homes", lambda: _build_homes(world))
    snapshot.take_snapshot(now=SNAPSHOT_AT)  # a Parquet file under the test's own directory: taken for each test
    yield todo, made
    get_settings.cache_clear()


def _build_homes(world: World) -> tuple[TodoWorld, dict[str, str]]:
    todo = build(world)
    return todo, make_recent(todo)


@pytest.fixture
def live_server(homes: tuple[TodoWorld, dict[str, str]]) -> Iterator[str]:
    with serve() as url:
        yield url


def _sign_in(page: Page, username: str) -> None:
    page.goto("/")
    expect(page).to_have_url("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/my")  # every role lands on its own home
    expect(page.locator("#nav-my")).to_have_attribute("aria-current", "page")


def _shots(page: Page, role: str) -> None:
    """The home in Chinese and English, at 1366 px: the navigation must not push the page sideways."""
    page.set_viewport_size({"width": 1366, "height": 900})
    for lang in ("zh", "en"):
        page.goto(f"/my?lang={lang}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"{role} home in {lang} is {width} px wide"
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT.replace(".png", f"-{role}-{lang}.png"), full_page=True)
    page.goto("/my?lang=zh")


def _section(page: Page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f'section.todo-section[data-section="{key}"]')


def _badge(page: Page) -> str:
    return page.locator("#todo-count").inner_text().strip()


def test_adjuster_home_lists_my_claims_nearest_deadline_first(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, _ = homes
    _sign_in(page, todo.adjuster)
    claims = _section(page, "claims")
    expect(claims).to_have_attribute("data-count", "3")
    expect(claims.locator("li.todo-item")).to_have_count(3)
    expect(claims.locator("li.todo-item").first).to_have_attribute("data-key", "T-RED")
    expect(claims.locator("li.todo-item").first).to_have_attribute("data-light", "red")
    assert _badge(page) == "3"
    _shots(page, "adjuster")
    # On another page the badge is loaded beside 我的待办.
    page.goto("/claims")
    expect(page.locator("#todo-count")).to_have_text("3")
    page.goto("/my")
    # The nearest deadline opens its claim: its clocks and escalation history. The claim page offers an
    # adjuster no action (claim events come from the core system), so the work ends at reading it.
    _section(page, "claims").locator("li.todo-item a.todo-title").first.click()
    expect(page).to_have_url("/claims/T-RED")
    expect(page.locator('#clocks article[data-policy="timeliness_small"] .light-text')).to_have_text("红灯")


def test_supervisor_acknowledges_an_escalation_from_the_inbox(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, _ = homes
    _sign_in(page, todo.supervisor)
    escalations = _section(page, "escalations")
    expect(escalations).to_have_attribute("data-count", "2")  # B1 only: T-RED (red) then T-YEL (yellow)
    rows = escalations.locator("li.todo-item")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-key", "T-RED")
    assert _badge(page) == "2"
    _shots(page, "supervisor")
    first = _section(page, "escalations").locator('li.todo-item[data-key="T-RED"]')
    first.locator("input[name=note]").fill("已电话联系经办人")
    first.locator("button[type=submit]").click()
    expect(page).to_have_url("/sla/queue?done=T-RED")
    page.goto("/my")
    expect(_section(page, "escalations")).to_have_attribute("data-count", "1")
    expect(_section(page, "escalations").locator('li.todo-item[data-key="T-RED"]')).to_have_count(0)
    expect(page.locator("#todo-count")).to_have_text("1")
    # The claim records who took it in hand.
    page.goto("/claims/T-RED")
    expect(page.locator('#escalations tr[data-level="red"]')).to_have_attribute("data-status", "acknowledged")


def test_complaint_handler_accepts_a_complaint_from_the_inbox(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, _ = homes
    _sign_in(page, todo.handler)
    mine = _section(page, "complaints")
    expect(mine).to_have_attribute("data-count", "2")
    expect(_section(page, "unassigned-complaints")).to_have_attribute("data-count", "1")
    assert _badge(page) == "3"
    _shots(page, "handler")
    number = todo.complaints["mine-1"]
    _section(page, "complaints").locator(f'li.todo-item[data-key="{number}"] a.todo-title').click()
    expect(page).to_have_url(f"/complaints/{number}")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "received")
    page.locator("#do-accept").click()
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "accepted")


def test_quality_manager_opens_a_red_kpi_and_an_alert(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, made = homes
    _sign_in(page, todo.quality)
    red = _section(page, "red-kpis")
    assert int(red.get_attribute("data-count") or "0") >= 1
    alerts = _section(page, "alerts")
    expect(alerts).to_have_attribute("data-count", "1")
    _shots(page, "quality")
    first = _section(page, "red-kpis").locator("li.todo-item").first
    code = first.get_attribute("data-key")
    first.locator("a.todo-title").click()
    expect(page).to_have_url(f"/dashboard?period=2026-11#kpi-{code}")
    expect(page.locator(f"#kpi-{code}")).to_have_attribute("data-light", "misses")
    page.goto("/my")
    _section(page, "alerts").locator(f'li.todo-item[data-key="{made["alert"]}"] a.todo-title').click()
    expect(page).to_have_url(f"/dashboard?period={dt.datetime.now(CST):%Y-%m}&region=440000")
    expect(page.locator("#alerts")).to_be_visible()


def test_regulator_home_shows_filings_and_the_insurers(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, _ = homes
    _sign_in(page, todo.regulator)
    expect(_section(page, "filings")).to_have_attribute("data-count", "4")
    insurers = _section(page, "insurers")
    expect(insurers.locator("li.todo-item")).to_have_count(2)
    expect(page.locator("#todo-count")).to_have_text("4")  # the insurers overview is not work waiting
    _shots(page, "regulator")
    _section(page, "filings").locator('li.todo-item[data-key="BBB:B-RED"] a.todo-title').click()
    expect(page).to_have_url("/claims/B-RED?tenant=BBB")  # read-only: a regulator reads, never acts
    page.goto("/my")
    _section(page, "insurers").locator('li.todo-item[data-key="ACME"] a.todo-title').click()
    expect(page).to_have_url("/sla/filings?" + page.url.split("?", 1)[1])
    assert "tenant=ACME" in page.url


def test_inspector_home_shows_low_scores(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, made = homes
    _sign_in(page, todo.inspector)
    low = _section(page, "low-scores")
    expect(low).to_have_attribute("data-count", "1")
    _shots(page, "inspector")
    low.locator(f'li.todo-item[data-key="{made["response"]}"] a.todo-title').click()
    expect(page).to_have_url("/claims/T-DONE")


def test_admin_home_shows_dead_letters(page: Page, homes: tuple[TodoWorld, dict[str, str]]):
    todo, _ = homes
    _sign_in(page, todo.admin)
    dead = _section(page, "dead-letters")
    expect(dead).to_have_attribute("data-count", "0")
    expect(dead.locator(".todo-empty")).to_be_visible()
    _shots(page, "admin")
