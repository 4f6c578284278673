"""The supervisors' queue (督办队列) as a work list: one row per claim with its worst light, which clocks
and by how much it is overdue; red first; filters by light, org subtree, line, supervision state and
lateness, with counts and paging; acknowledging a row (all its open escalations, each audited) with a
confirmation, refused twice and for completed cases; the escalation history on the claim page; a
supervisor attached to a branch sees that branch's subtree only, and no insurer sees another's cases."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla import queries as sla_queries
from tests.apps import shared_app
from tests.sla import queue_world
from tests.sla.queue_world import Queue
from tests.web.conftest import csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

queue = queue_world.queue  # the fixture
ROW = re.compile(r'<tr data-number="([^"]+)" data-level="(\w+)" data-status="(\w+)" data-escalations="([\d ]+)">')


def rows(html: str) -> list[tuple[str, str, str, list[int]]]:
    return [(n, level, status, [int(i) for i in ids.split()]) for n, level, status, ids in ROW.findall(html)]


def numbers(html: str) -> list[str]:
    return [row[0] for row in rows(html)]


def summary(html: str) -> tuple[int, int, int]:
    found = re.search(r'id="queue-summary" data-total="(\d+)" data-red="(\d+)" data-yellow="(\d+)"', html)
    assert found, html
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def signed_in(username: str) -> TestClient:
    client = TestClient(shared_app())
    sign_in(client, username)
    return client


def test_one_row_per_claim_red_first_with_its_clocks_and_overdue_by(queue: Queue):
    client = signed_in(queue.head)
    page = client.get("/sla/queue")
    assert page.status_code == 200
    found = rows(page.text)
    # Red first (the longest-waiting red first), then yellow; the closed case is not in the working queue.
    assert [(n, level, status) for n, level, status, _ in found] == [
        ("Q-RED", "red", "open"),
        ("Q-JS", "red", "open"),
        ("Q-YEL", "yellow", "open"),
    ]
    assert summary(page.text) == (3, 2, 1)
    # Q-RED's three escalations (small-claim yellow and red, materials notice yellow) fold into one row.
    assert len(found[0][3]) == 3 and len(found[1][3]) == 2 and len(found[2][3]) == 1
    row = page.text[page.text.index('data-number="Q-RED"') :]
    row = row[: row.index("</tr>")]
    assert 'data-policy="timeliness_small" data-light="red"' in row
    assert 'data-policy="materials_notice" data-light="yellow"' in row
    assert row.index("timeliness_small") < row.index("materials_notice")  # the worst clock first
    # Overdue by: the small-claim clock's target was 11-03 09:00; now is later than 11-06, so > 70 hours.
    english = client.get("/sla/queue", params={"lang": "en"}).text
    over = re.search(r'class="over-by">Overdue by ([\d,.]+) hours', english)
    assert over and float(over.group(1).replace(",", "")) > 70
    assert "广东分公司" in row and 'href="/claims/Q-RED"' in row
    # One acknowledge form per open row, aimed at the row's worst escalation.
    assert row.count("<form") == 1 and f"/sla/queue/{found[0][3][0]}/acknowledge" in row


def test_filters_counts_and_paging(queue: Queue, monkeypatch: pytest.MonkeyPatch):
    client = signed_in(queue.head)

    def get(**params: str) -> str:
        response = client.get("/sla/queue", params=params)
        assert response.status_code == 200
        return response.text

    yellow = get(light="yellow")
    assert numbers(yellow) == ["Q-YEL"] and summary(yellow) == (1, 2, 1)
    assert numbers(get(light="red")) == ["Q-RED", "Q-JS"]
    assert numbers(get(line="medical")) == ["Q-JS"]
    # An org unit means its subtree: 广东分公司 holds 深圳支公司's case too.
    assert numbers(get(org="ACME-B1")) == ["Q-RED", "Q-YEL"]
    assert numbers(get(org="ACME-B1-SZ")) == ["Q-YEL"]
    everything = get(ack="all")
    assert numbers(everything) == ["Q-RED", "Q-JS", "Q-DONE", "Q-YEL"] and summary(everything) == (4, 2, 2)
    assert [r[2] for r in rows(everything) if r[0] == "Q-DONE"] == ["closed"]
    assert numbers(get(ack="all", overdue="0")) == ["Q-DONE"]
    assert numbers(get(ack="all", overdue="1")) == ["Q-RED", "Q-JS", "Q-YEL"]
    assert numbers(get(all="1")) == numbers(everything)  # the old checkbox's address still works
    assert numbers(get(ack="acknowledged")) == []
    # Unknown values are dropped rather than refused: the whole queue.
    assert numbers(get(light="blue", line="nope", org="NOPE", ack="x", overdue="7", page="x")) == [
        "Q-RED",
        "Q-JS",
        "Q-YEL",
    ]
    # htmx swaps the table and keeps the address in step, without empty filters.
    fragment = client.get("/sla/queue", params={"light": "red", "line": ""}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.headers["HX-Push-Url"] == "/sla/queue?light=red"

    monkeypatch.setattr(sla_queries, "QUEUE_PAGE_SIZE", 2)
    first = get(ack="all")
    assert numbers(first) == ["Q-RED", "Q-JS"] and summary(first)[0] == 4
    assert "第 1 / 2 页" in first and 'href="/sla/queue?ack=all&amp;page=2"' in first
    second = get(ack="all", page="2")
    assert numbers(second) == ["Q-DONE", "Q-YEL"] and "第 2 / 2 页" in second
    assert numbers(get(ack="all", page="99")) == ["Q-DONE", "Q-YEL"]  # past the end: the last page
    assert numbers(get(ack="all", light="yellow", page="1")) == ["Q-DONE", "Q-YEL"]


def test_acknowledging_a_row_takes_every_open_escalation_of_the_claim_and_confirms(queue: Queue):
    client = signed_in(queue.head)
    page = client.get("/sla/queue", params={"light": "red"}).text
    target, _, _, ids = rows(page)[0]
    assert target == "Q-RED"
    token = csrf_from(page)
    refused = client.post(f"/sla/queue/{ids[0]}/acknowledge", data={"note": "x"}, follow_redirects=False)
    assert refused.status_code == 403
    done = client.post(
        f"/sla/queue/{ids[0]}/acknowledge",
        data={"csrf_token": token, "note": "已电话催办 13812345678", "back": "light=red"},
        follow_redirects=False,
    )
    # Back to the same filters, with the confirmation of what was acknowledged.
    assert done.status_code == 303 and done.headers["location"] == "/sla/queue?light=red&done=Q-RED"
    after = client.get(done.headers["location"]).text
    confirmation = after[after.index('id="queue-confirmation"') :]
    confirmation = confirmation[: confirmation.index("</p>")]
    assert "Q-RED" in confirmation and "小额赔案结案时效" in confirmation and "一次性告知补充材料" in confirmation
    assert numbers(after) == ["Q-JS"]
    # Every escalation of the row is acknowledged, each with its own audit entry.
    acknowledged = client.get("/sla/queue", params={"ack": "acknowledged"}).text
    assert [(n, s) for n, _, s, _ in rows(acknowledged)] == [("Q-RED", "acknowledged")]
    row = acknowledged[acknowledged.index('data-number="Q-RED"') :]
    row = row[: row.index("</tr>")]
    assert "<form" not in row and "<button" not in row  # not actionable any more
    assert "user:wang.supervisor" in row and "138********" in row and "13812345678" not in row
    with unit_of_work(TenantContext.for_tenant(queue.acme.id)) as session:
        kinds = (
            session.execute(
                select(AuditEntry.kind).where(AuditEntry.kind == "sla.acknowledged").order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
        assert len(kinds) == 3
    # Twice: 409, the error page says so; nothing more is written.
    again = client.post(f"/sla/queue/{ids[0]}/acknowledge", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 409 and "该案件已有人督办。" in again.text
    sibling = client.post(f"/sla/queue/{ids[2]}/acknowledge", data={"csrf_token": token}, follow_redirects=False)
    assert sibling.status_code == 409
    # A hand-made confirmation address for a claim this user did not acknowledge shows nothing.
    assert 'id="queue-confirmation"' not in client.get("/sla/queue", params={"done": "Q-JS"}).text


def test_a_completed_case_is_not_actionable(queue: Queue):
    client = signed_in(queue.head)
    page = client.get("/sla/queue", params={"ack": "all"}).text
    done = next(r for r in rows(page) if r[0] == "Q-DONE")
    row = page[page.index('data-number="Q-DONE"') :]
    row = row[: row.index("</tr>")]
    assert done[2] == "closed" and "<form" not in row
    answer = client.post(
        f"/sla/queue/{done[3][0]}/acknowledge", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert answer.status_code == 409
    # With htmx the refusal comes back inside the table.
    htmx = client.post(
        f"/sla/queue/{done[3][0]}/acknowledge",
        data={"csrf_token": csrf_from(page), "back": "ack=all"},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 200 and 'id="queue-problem"' in htmx.text and 'id="queue-confirmation"' not in htmx.text


def test_acknowledging_with_htmx_returns_the_table_with_the_confirmation(queue: Queue):
    client = signed_in(queue.head)
    page = client.get("/sla/queue").text
    number, _, _, ids = rows(page)[2]
    assert number == "Q-YEL"
    response = client.post(
        f"/sla/queue/{ids[0]}/acknowledge",
        data={"csrf_token": csrf_from(page), "back": "ack=all"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response.text.lstrip().startswith('<section id="queue-table"')
    assert 'id="queue-confirmation" data-number="Q-YEL"' in response.text
    assert [r[2] for r in rows(response.text) if r[0] == "Q-YEL"] == ["acknowledged"]


def test_escalation_history_on_the_claim_page(queue: Queue):
    client = signed_in(queue.head)
    page = client.get("/sla/queue").text
    ids = next(r[3] for r in rows(page) if r[0] == "Q-RED")
    client.post(f"/sla/queue/{ids[0]}/acknowledge", data={"csrf_token": csrf_from(page), "note": "催办"})
    html = client.get("/claims/Q-RED").text
    section = html[html.index('id="escalations"') :]
    section = section[: section.index("</section>")]
    history = re.findall(r'<tr data-escalation="(\d+)" data-level="(\w+)" data-status="(\w+)">', section)
    assert [(level, status) for _, level, status in history] == [
        ("yellow", "acknowledged"),
        ("red", "acknowledged"),
        ("yellow", "acknowledged"),
    ]
    assert "2026-11-03 12:00" in section  # raised at the first sweep, local time
    assert section.count("user:wang.supervisor") == 3 and "催办" in section
    assert "小额赔案结案时效" in section and "一次性告知补充材料" in section
    closed = client.get("/claims/Q-DONE").text
    closed = closed[closed.index('id="escalations"') :]
    closed = closed[: closed.index("</section>")]
    assert 'data-status="open"' in closed and "超时" in closed  # raised, never acknowledged, clock stopped late
    quiet = client.get("/claims/Q-NEW", params={"lang": "en"}).text
    assert 'id="no-escalations"' in quiet and "No deadline of this claim has been escalated." in quiet
    adjuster = signed_in(queue.adjuster).get("/claims/Q-RED").text
    assert adjuster.count('<tr data-escalation="') == 3  # staff who work the claim see the history too


def test_a_branch_supervisor_sees_and_acts_on_their_subtree_only(queue: Queue):
    gd = signed_in(queue.gd)
    page = gd.get("/sla/queue").text
    assert numbers(page) == ["Q-RED", "Q-YEL"] and summary(page) == (2, 1, 1)
    # Only their units are offered as filters, and another branch in the address changes nothing.
    options = re.findall(r'<option value="(ACME-[\w-]+)"', page)
    assert options == ["ACME-B1", "ACME-B1-SZ"]
    assert numbers(gd.get("/sla/queue", params={"org": "ACME-B2"}).text) == ["Q-RED", "Q-YEL"]
    js = signed_in(queue.js)
    js_page = js.get("/sla/queue").text
    assert numbers(js_page) == ["Q-JS"]
    gd_ids = rows(page)[0][3]
    foreign = js.post(f"/sla/queue/{gd_ids[0]}/acknowledge", data={"csrf_token": csrf_from(js_page)})
    assert foreign.status_code == 404
    # The head-office supervisor sees every unit.
    assert numbers(signed_in(queue.head).get("/sla/queue").text) == ["Q-RED", "Q-JS", "Q-YEL"]


def test_insurers_and_roles_are_kept_apart(queue: Queue):
    head = signed_in(queue.head)
    acme_ids = rows(head.get("/sla/queue").text)[0][3]
    other = signed_in(queue.bbb_supervisor)
    page = other.get("/sla/queue", params={"ack": "all"}).text
    assert numbers(page) == ["B-RED"] and "Q-RED" not in page and "ACME-B1" not in page
    foreign = other.post(f"/sla/queue/{acme_ids[0]}/acknowledge", data={"csrf_token": csrf_from(page)})
    unknown = other.post("/sla/queue/99999999/acknowledge", data={"csrf_token": csrf_from(page)})
    assert foreign.status_code == 404 and unknown.status_code == 404 and foreign.text == unknown.text
    adjuster = signed_in(queue.adjuster)
    assert adjuster.get("/sla/queue").status_code == 403
    token = csrf_from(adjuster.get("/claims").text)
    assert adjuster.post(f"/sla/queue/{acme_ids[0]}/acknowledge", data={"csrf_token": token}).status_code == 403
    # Still open for ACME.
    assert rows(head.get("/sla/queue").text)[0][2] == "open"
