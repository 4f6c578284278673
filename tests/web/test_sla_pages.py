"""The SLA pages over plain HTTP: a claim's clocks (lights, local due times, pauses, outcomes, a
calendar gap) and materials, the supervisors' queue (督办队列) and acknowledging, the regulator
filings (监管报备) across insurers and their export."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.sla.loader import policies_for_tenant
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported
from tests.web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, CST, SlaWorld, csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
QUEUE_ROW = re.compile(
    r'<tr data-number="([^"]+)" data-level="(\w+)" data-status="(\w+)" data-escalations="(\d+)[\d ]*">'
)
FILING_ROW = re.compile(r'<tr data-number="([^"]+)" data-tenant="(\w+)">')


def ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


@pytest.fixture
def documents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "documents"
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def queue_rows(html: str) -> list[tuple[int, str, str, str]]:
    """(the row's first escalation, claim number, worst light, status): one row per claim."""
    return [(int(i), number, level, status) for number, level, status, i in QUEUE_ROW.findall(html)]


def clock_card(html: str, policy: str) -> str:
    start = html.index(f'data-policy="{policy}"')
    return html[start : html.index("</article>", start)]


def test_claim_page_shows_clocks_with_lights_and_local_due_times(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.adjuster)
    html = client.get("/claims/S-RED").text
    assert 'id="clocks"' in html and ">时效<" in html
    card = clock_card(html, "timeliness_small")
    assert 'data-light="red"' in card and 'data-state="running"' in card
    assert "红灯" in card and "小额赔案结案时效" in card and "理赔督促平台 小额案件24小时" in card
    assert "计时中" in card and "小时" in card
    # Reported 09:00 Beijing time: 24 h and 48 h later, shown in local time, UTC in the markup.
    yellow = card[card.index('class="due-yellow"') :]
    assert '<time datetime="2026-11-03T01:00:00+00:00">2026-11-03 09:00</time>' in yellow
    red = card[card.index('class="due-red"') :]
    assert '<time datetime="2026-11-04T01:00:00+00:00">2026-11-04 09:00</time>' in red
    assert "已超时" in card  # still open, past its deadline
    for policy in ("materials_notice", "advance_payment"):
        assert f'data-policy="{policy}"' in html, policy
    assert 'data-policy="claim_decision"' not in html  # it starts when the materials are complete (issue 15)
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html


def test_a_claim_within_its_escalation_window_shows_yellow(client: TestClient, sla: SlaWorld):
    reported_at = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(hours=30)
    event = reported("n1", "S-NOW", amount="600.00") | {"occurred_at": reported_at.isoformat()}
    ingest(client, sla.acme, [event])
    sign_in(client, sla.supervisor)
    card = clock_card(client.get("/claims/S-NOW").text, "timeliness_small")
    assert 'data-light="yellow"' in card and "黄灯" in card
    due = (reported_at + dt.timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")
    assert f">{due}</time>" in card
    english = clock_card(client.get("/claims/S-NOW", params={"lang": "en"}).text, "timeliness_small")
    assert "Yellow" in english and "Small-claim timeliness" in english and "Running" in english


def test_paused_and_stopped_clocks_show_their_periods_and_outcomes(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    paused = client.get("/claims/S-PAU").text
    card = clock_card(paused, "timeliness_small")
    assert 'data-state="paused"' in card and "暂停（等待客户）" in card
    assert "恢复计时后重新计算" in card  # no due time while paused
    periods = card[card.index('class="periods"') :]
    assert "暂停与中止期间" in periods and "2026-11-02 11:00" in periods and "至今" in periods
    assert "待补材料" in periods  # the status that paused it, by its label
    assert "13812345678" not in paused
    # The one-time notice clock stopped on time when the claim moved to awaiting materials.
    notice = clock_card(paused, "materials_notice")
    assert 'data-state="stopped"' in notice and "已停止" in notice and "按时" in notice

    late = clock_card(client.get("/claims/S-LATE").text, "timeliness_small")
    assert 'data-state="stopped"' in late and "超时" in late and "超出 6 小时" in late
    english = clock_card(client.get("/claims/S-LATE", params={"lang": "en"}).text, "timeliness_small")
    assert "Overdue" in english and "missed by 6 hours" in english and "Stopped" in english


def test_a_deadline_in_an_unpublished_year_is_shown_as_provisional(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    gap_year = max(chinese_calendar.holidays).year + 1
    today = dt.datetime.now(CST).date()
    # More working days than there are calendar days until the unpublished year: the deadline lands in it.
    budget = (dt.date(gap_year, 1, 1) - today).days + 10
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "GAPCO.yaml").write_text(
        f"overrides:\n  timeliness_large: {{yellow: {budget}, red: {budget + 10}}}\n", encoding="utf-8"
    )
    monkeypatch.setenv("CLAIMWATCH_POLICY_OVERRIDES_DIR", str(overrides))
    get_settings.cache_clear()
    policies_for_tenant.cache_clear()
    try:
        tenant = world.tenant("GAPCO", "缺历保险")
        user = world.user("gap.supervisor", Role.SUPERVISOR, tenant)
        start = (dt.datetime.now(CST) - dt.timedelta(hours=1)).replace(microsecond=0)
        ingest(client, tenant, [reported("g1", "G-1", amount="80000.00") | {"occurred_at": start.isoformat()}])
        sign_in(client, user)
        html = client.get("/claims/G-1").text
        card = clock_card(html, "timeliness_large")
        # A date counted on the statutory holidays, marked 暂定, never a blank and never passed off as exact.
        assert f"{gap_year} 年节假日安排尚未公布：此期限为暂定" in card and "暂定" in card
        assert "<time" in card[card.index('class="due-yellow"') : card.index('class="due-red"')]
        english = client.get("/claims/G-1", params={"lang": "en"}).text
        assert f"The holiday arrangement for {gap_year} has not been published" in english
    finally:
        get_settings.cache_clear()
        policies_for_tenant.cache_clear()


def test_materials_section_shows_checklist_notices_supplements_and_violations(
    client: TestClient, sla: SlaWorld, documents_dir: Path
):
    headers = {"X-API-Key": sla.acme.api_key}
    base = "/api/v1/claims/S-YEL"
    sign_in(client, sla.supervisor)
    assert "尚未设定理赔类型" in client.get("/claims/S-YEL").text
    assert client.put(f"{base}/materials/profile", json={"claim_type": "vehicle_damage"}, headers=headers).is_success
    first = client.post(f"{base}/materials/notices", json={"items": ["claim_form", "id_proof"]}, headers=headers)
    assert first.status_code == 201, first.text
    upload = client.post(
        f"{base}/documents",
        data={"item_code": "claim_form"},
        files={"file": ("张三丰的申请书.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    assert client.post(f"{base}/materials/notices", headers=headers).status_code == 201  # round 2 asks for the rest

    html = client.get("/claims/S-YEL").text
    section = html[html.index('id="materials"') : html.index("</section>", html.index('id="materials"'))]
    assert "车辆损失" in section and "缺 9 项" in section
    claim_form = section[section.index('data-item="claim_form"') :]
    assert "机动车辆保险索赔申请书" in claim_form[: claim_form.index("</tr>")]
    assert "已收到" in claim_form[: claim_form.index("</tr>")]
    id_proof = section[section.index('data-item="id_proof"') :]
    assert "缺少" in id_proof[: id_proof.index("</tr>")]
    towing = section[section.index('data-item="towing_invoice"') :]
    assert "不适用" in towing[: towing.index("</tr>")]
    round_1 = section[section.index('data-round="1"') : section.index('data-round="2"')]
    assert "一次性告知" in round_1 and "违反一次性告知" not in round_1
    round_2 = section[section.index('data-round="2"') :]
    assert "补交" in round_2 and "违反一次性告知" in round_2 and "催补" in round_2
    assert "首次告知时应列明" in round_2
    assert 'id="supplement-rounds">1<' in section
    assert "张三丰" not in html  # the file name is not shown
    # The notice paused the claim's clocks: the period names the notice round.
    card = clock_card(html, "timeliness_small")
    assert "补充材料通知（第 1 轮）" in card
    english = client.get("/claims/S-YEL", params={"lang": "en"}).text
    for label in ("Materials", "One-time notice", "Supplement", "Breaks the one-time rule", "Vehicle damage"):
        assert label in english, label


def test_queue_lists_claims_red_first_and_acknowledging_removes_one(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    listing = client.get("/claims").text
    assert 'href="/sla/queue"' in listing and 'href="/sla/filings"' in listing
    page = client.get("/sla/queue")
    assert page.status_code == 200 and "督办队列" in page.text
    rows = queue_rows(page.text)
    # The working queue holds open cases only, one row per claim: S-LATE was closed 6 h late, so its
    # breach is on record (and in the full list) but there is nothing left to urge.
    assert [(number, level) for _, number, level, _ in rows] == [("S-RED", "red"), ("S-YEL", "yellow")]
    full = queue_rows(client.get("/sla/queue", params={"all": "1"}).text)
    assert ("S-LATE", "yellow", "closed") in [(number, level, status) for _, number, level, status in full]
    assert "B-RED" not in page.text  # the other insurer's case
    # S-RED's yellow (first sweep, 11-03 12:00) and red escalations are one row, raised at the first.
    fired = re.findall(r'<td class="fired"><time datetime="[^"]+">([^<]+)</time>', page.text)
    assert fired == ["2026-11-03 12:00", "2026-11-05 10:00"]
    first = page.text[page.text.index('data-number="S-RED" data-level="red"') :]
    first = first[: first.index("</tr>")]
    assert 'href="/claims/S-RED"' in first and "小额赔案结案时效" in first and "广东分公司" in first
    assert "2026-11-03 09:00" in first and "红灯" in first and "已督办" in first

    target = rows[0][0]
    token = csrf_from(page.text)
    # Without the form's token nothing happens.
    refused = client.post(f"/sla/queue/{target}/acknowledge", data={"note": "x"}, follow_redirects=False)
    assert refused.status_code == 403
    done = client.post(
        f"/sla/queue/{target}/acknowledge",
        data={"csrf_token": token, "note": "已电话催办，客户 13812345678"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/sla/queue?done=S-RED"
    after = queue_rows(client.get("/sla/queue").text)
    assert [number for _, number, _, _ in after] == ["S-YEL"]
    everything = client.get("/sla/queue", params={"all": "1"}).text
    acknowledged = [row for row in queue_rows(everything) if row[1] == "S-RED"]
    assert acknowledged and acknowledged[0][3] == "acknowledged"
    assert "user:wang.supervisor" in everything and "138********" in everything
    assert "13812345678" not in everything
    again = client.post(f"/sla/queue/{target}/acknowledge", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 409 and "该案件已有人督办。" in again.text


def test_acknowledging_with_htmx_returns_the_table(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    page = client.get("/sla/queue").text
    target = queue_rows(page)[0][0]
    response = client.post(
        f"/sla/queue/{target}/acknowledge",
        data={"csrf_token": csrf_from(page), "all": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="queue-table"')
    assert [row[3] for row in queue_rows(response.text) if row[0] == target] == ["acknowledged"]
    assert 'id="queue-confirmation"' in response.text
    # A second try is answered inside the table (htmx swaps no error response).
    again = client.post(
        f"/sla/queue/{target}/acknowledge", data={"csrf_token": csrf_from(page)}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200 and 'id="queue-problem"' in again.text
    # The filter swaps just the table and keeps the address in step.
    fragment = client.get("/sla/queue", params={"all": "1"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.headers["HX-Push-Url"] == "/sla/queue?ack=all"


def test_queue_is_for_supervisors_and_their_insurer_only(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    page = client.get("/sla/queue").text
    acme_id = queue_rows(page)[0][0]
    adjuster = TestClient(shared_app())
    sign_in(adjuster, sla.adjuster)
    assert 'href="/sla/queue"' not in adjuster.get("/claims").text
    assert adjuster.get("/sla/queue").status_code == 403
    token = csrf_from(adjuster.get("/claims").text)
    assert adjuster.post(f"/sla/queue/{acme_id}/acknowledge", data={"csrf_token": token}).status_code == 403
    other = TestClient(shared_app())
    sign_in(other, sla.bbb_supervisor)
    bbb_page = other.get("/sla/queue").text
    assert [number for _, number, _, _ in queue_rows(bbb_page)] == ["B-RED"]
    foreign = other.post(
        f"/sla/queue/{acme_id}/acknowledge", data={"csrf_token": csrf_from(bbb_page)}, follow_redirects=False
    )
    assert foreign.status_code == 404
    unknown = other.post("/sla/queue/999999/acknowledge", data={"csrf_token": csrf_from(bbb_page)})
    assert unknown.status_code == 404 and foreign.text == unknown.text
    assert other.post("/sla/queue/abc/acknowledge", data={"csrf_token": csrf_from(bbb_page)}).status_code == 404
    # Still open for ACME's supervisor.
    assert acme_id in [i for i, *_ in queue_rows(client.get("/sla/queue").text)]
    regulator = TestClient(shared_app())
    sign_in(regulator, sla.regulator)
    assert regulator.get("/sla/queue").status_code == 403
    signed_out = TestClient(shared_app()).get("/sla/queue", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")


def test_regulator_sees_the_filings_of_every_insurer(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.regulator)
    listing = client.get("/claims").text
    assert 'href="/sla/filings"' in listing and 'href="/sla/queue"' not in listing
    page = client.get("/sla/filings")
    html = page.text
    assert page.status_code == 200 and "监管报备" in html
    assert sorted(FILING_ROW.findall(html)) == [("B-RED", "BBB"), ("S-RED", "ACME")]
    row = html[html.index('data-number="S-RED"') :]
    row = row[: row.index("</tr>")]
    assert 'href="/claims/S-RED?tenant=ACME"' in row and "小额赔案结案时效" in row
    assert "2026-11-02 09:00" in row and "2026-11-04 09:00" in row and "2026-11-05 10:00" in row
    only_bbb = client.get("/sla/filings", params={"tenant": "BBB"}).text
    assert FILING_ROW.findall(only_bbb) == [("B-RED", "BBB")]
    assert '<option value="BBB" selected>' in only_bbb
    # Dates are local filing dates, both ends included.
    assert len(FILING_ROW.findall(client.get("/sla/filings", params={"since": "2026-11-05"}).text)) == 2
    assert FILING_ROW.findall(client.get("/sla/filings", params={"until": "2026-11-04"}).text) == []
    assert "没有符合条件的监管报备。" in client.get("/sla/filings", params={"until": "2026-11-04"}).text
    nonsense = client.get("/sla/filings", params={"since": "not-a-date", "tenant": "NOPE"})
    assert nonsense.status_code == 200 and FILING_ROW.findall(nonsense.text) == []
    # The export links carry the filters to the API.
    filtered = client.get("/sla/filings", params={"tenant": "ACME", "since": "2026-11-05"}).text
    csv_link = re.search(r'id="export-csv" href="([^"]+)"', filtered)
    assert csv_link
    href = csv_link.group(1).replace("&amp;", "&")
    assert href.startswith("/api/v1/sla/filings?format=csv&tenant=ACME&since=2026-11-05T00%3A00%3A00%2B08%3A00")
    exported = client.get(href)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("保险公司,赔案号") and len(lines) == 2 and "S-RED" in lines[1]
    json_link = re.search(r'id="export-json" href="([^"]+)"', html)
    assert json_link
    exported_json = client.get(json_link.group(1).replace("&amp;", "&"))
    assert exported_json.status_code == 200
    assert sorted(row["claim_number"] for row in exported_json.json()) == ["B-RED", "S-RED"]


def test_a_quality_manager_sees_only_their_own_insurers_filings(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.quality)
    listing = client.get("/claims").text
    assert 'href="/sla/filings"' in listing and 'href="/sla/queue"' in listing
    html = client.get("/sla/filings", params={"tenant": "BBB"}).text  # the insurer filter is a regulator's
    rows = re.findall(r'<tr data-number="([^"]+)">', html)
    assert rows == ["S-RED"] and "B-RED" not in html and 'name="tenant"' not in html
    csv_link = re.search(r'id="export-csv" href="([^"]+)"', html)
    assert csv_link and "tenant=" not in csv_link.group(1)
    exported = client.get(csv_link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200 and "S-RED" in exported.text and "B-RED" not in exported.text
    adjuster = TestClient(shared_app())
    sign_in(adjuster, sla.adjuster)
    assert adjuster.get("/sla/filings").status_code == 403
    assert 'href="/sla/filings"' not in adjuster.get("/claims").text


def test_regulator_reads_a_claims_clocks_and_materials_read_only(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.regulator)
    html = client.get("/claims/S-RED", params={"tenant": "ACME"}).text
    card = clock_card(html, "timeliness_small")
    assert 'data-light="red"' in card and "2026-11-03 09:00" in card
    assert 'id="materials"' in html
    assert "<form" not in html.split("</header>", 1)[1]  # nothing to act on
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html
