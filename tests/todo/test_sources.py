"""Each domain's section, scoped: my claims only mine, the supervisor's subtree only, never another
insurer's; and every count equals the full list behind "see all" (/my/<key>)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi.models import QualityAlert
from claimwatch.notify.models import OutboxMessage
from claimwatch.todo import registry
from tests.factories import PASSWORD
from tests.todo.conftest import NOW, TodoWorld, principal_of


def _section(principal: Principal, key: str, limit: int = 50) -> registry.Section:
    with unit_of_work(principal.context()) as session:
        return registry.section(session, principal, key, "zh", now=NOW, limit=limit)


def _keys(section: registry.Section) -> list[str]:
    return [item.key for item in section.items]


def test_an_adjuster_sees_only_their_open_claims_nearest_deadline_first(todo: TodoWorld):
    mine = _section(principal_of(todo.adjuster), "claims")
    # T-RED's target passed first, then T-YEL's; T-NEW is green; T-DONE is closed; T-B2 is zhou's.
    assert _keys(mine) == ["T-RED", "T-YEL", "T-NEW"] and mine.count == 3
    assert [item.light for item in mine.items] == ["red", "yellow", "green"]
    assert mine.items[0].url == "/claims/T-RED"
    assert _keys(_section(principal_of(todo.other_adjuster), "claims")) == ["T-B2"]
    # BBB's adjuster sees BBB's claim, never ACME's (and the reverse).
    assert _keys(_section(principal_of(todo.bbb_adjuster), "claims")) == ["B-RED"]
    # A first page of one still counts all three.
    first = _section(principal_of(todo.adjuster), "claims", limit=1)
    assert first.count == 3 and _keys(first) == ["T-RED"]


def test_a_supervisor_sees_the_unacknowledged_escalations_of_their_subtree_red_first(todo: TodoWorld):
    branch = _section(principal_of(todo.supervisor), "escalations")
    # One item per claim, its worst level first. B1 only: T-RED (red and yellow) and T-YEL (yellow); not T-B2
    # (B2), T-HQ (no org) or BBB's.
    assert _keys(branch) == ["T-RED", "T-YEL"] and branch.count == 2
    assert [item.light for item in branch.items] == ["red", "yellow"]
    assert all(item.action is not None and item.action.url.endswith("/acknowledge") for item in branch.items)
    whole = _section(principal_of(todo.head_supervisor), "escalations")
    assert sorted(_keys(whole)) == ["T-B2", "T-HQ", "T-RED", "T-YEL"]
    assert [item.light for item in whole.items] == ["red", "red", "red", "yellow"]  # every red before any yellow
    assert {item.title for item in _section(principal_of(todo.bbb_supervisor), "escalations").items} == {"B-RED"}


def test_acknowledging_takes_the_escalation_off_the_supervisors_list(todo: TodoWorld, client: TestClient):
    before = _section(principal_of(todo.supervisor), "escalations")
    client.post("/login", data={"username": todo.supervisor, "password": PASSWORD, "csrf_token": _csrf(client)})
    first = before.items[0]
    assert first.action is not None
    response = client.post(first.action.url, data={"csrf_token": _csrf(client, "/my"), "note": "已督办"})
    assert response.status_code in (200, 303), response.text
    after = _section(principal_of(todo.supervisor), "escalations")
    assert after.count == before.count - 1 and first.key not in _keys(after)


def test_a_complaint_handler_sees_their_complaints_and_the_unassigned_ones_of_the_insurer(todo: TodoWorld):
    handler = principal_of(todo.handler)
    mine = _section(handler, "complaints")
    assert sorted(_keys(mine)) == sorted([todo.complaints["mine-1"], todo.complaints["mine-2"]])
    nobody = _section(handler, "unassigned-complaints")
    assert _keys(nobody) == [todo.complaints["nobody"]]  # BBB's unassigned complaint is not ACME's
    assert all(item.url.startswith("/complaints/") and item.due_at is not None for item in mine.items)


def test_a_regulator_sees_filings_of_every_insurer_and_the_insurers(todo: TodoWorld):
    regulator = principal_of(todo.regulator)
    filings = _section(regulator, "filings")
    titles = {item.title for item in filings.items}
    assert titles == {"ACME · T-RED", "ACME · T-B2", "ACME · T-HQ", "BBB · B-RED"} and filings.count == 4
    assert "/claims/B-RED?tenant=BBB" in {item.url for item in filings.items}
    insurers = _section(regulator, "insurers")
    assert _keys(insurers) == ["ACME", "BBB"]  # most filings first


def test_quality_alerts_and_dead_letters_are_their_insurers_own(todo: TodoWorld):
    with unit_of_work(TenantContext.for_tenant(todo.bbb.id)) as session:
        session.add(
            QualityAlert(
                tenant_id=todo.bbb.id,
                kpi_code="overdue_rate",
                dimension="region",
                unit_key="310000",
                unit_label="上海市",
                period="2026-11",
                rate=0.4,
                expected=0.1,
                lower_limit=0.0,
                upper_limit=0.2,
                numerator=40,
                count=100,
            )
        )
    with unit_of_work(TenantContext.for_tenant(todo.acme.id)) as session:
        session.add(
            QualityAlert(
                tenant_id=todo.acme.id,
                kpi_code="overdue_rate",
                dimension="org",
                unit_key="2",
                unit_label="广东分公司",
                period="2026-11",
                rate=0.3,
                expected=0.1,
                lower_limit=0.0,
                upper_limit=0.2,
                numerator=30,
                count=100,
            )
        )
        claim_id = session.execute(select(Claim.id).where(Claim.number == "T-RED")).scalar_one()
        session.execute(update(OutboxMessage).where(OutboxMessage.claim_id == claim_id).values(status="dead"))
    alerts = _section(principal_of(todo.quality), "alerts")
    assert alerts.count == 1 and alerts.items[0].url == "/dashboard?period=2026-11&org=2"
    dead = _section(principal_of(todo.admin), "dead-letters")
    assert dead.count >= 1 and {item.url for item in dead.items} == {"/claims/T-RED"}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client: TestClient, path: str = "/login") -> str:
    found = _CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def _sign_in(client: TestClient, username: str) -> None:
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/my", response.text


_SECTION = re.compile(r'data-section="([^"]+)" data-count="(\d+)"')
_ITEM = re.compile(r'<li class="todo-item" data-key="([^"]+)"')


def test_every_role_lands_on_its_inbox_and_every_count_equals_its_full_list(todo: TodoWorld, client: TestClient):
    for username in (
        todo.adjuster,
        todo.supervisor,
        todo.handler,
        todo.quality,
        todo.inspector,
        todo.admin,
        todo.regulator,
    ):
        client.cookies.clear()
        _sign_in(client, username)
        home = client.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/my"
        page = client.get("/my")
        assert page.status_code == 200 and '<h1 id="my-title">' in page.text
        sections = _SECTION.findall(page.text)
        assert sections, username
        for key, count in sections:
            full = client.get(f"/my/{key}")
            assert full.status_code == 200
            assert len(_ITEM.findall(full.text)) == int(count), (username, key)
        badge = client.get("/my/count").text
        waiting = sum(int(c) for k, c in sections if k != "insurers")
        assert f">{waiting}</span>" in badge, (username, badge)


def test_another_roles_section_is_not_found(todo: TodoWorld, client: TestClient):
    _sign_in(client, todo.adjuster)
    assert client.get("/my/escalations").status_code == 404
    assert client.get("/my/claims?page=999").status_code == 200  # past the end: an empty page


def test_signed_out_the_inbox_asks_to_sign_in(client: TestClient, database):
    response = client.get("/my", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
