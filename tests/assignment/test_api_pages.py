"""Assignment API and load page: roles, tenants, rebalancing with reason (audited), refusals naming the field."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.assignment import jobs
from claimwatch.assignment.models import LoadSnapshot
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.cases.models import CaseEvent
from claimwatch.web.security import CSRF_HEADER
from tests.apps import shared_app
from tests.assignment.helpers import Office
from tests.factories import World
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from, sign_in


def _client(username: str) -> TestClient:
    """Signed in, with the session's CSRF token on every request (so a 403 is the role's, not the guard's)."""
    client = TestClient(shared_app())
    sign_in(client, username)
    client.headers[CSRF_HEADER] = csrf_from(client.get("/login").text)
    return client


@pytest.fixture
def office(world: World, db_snapshot: Snapshot) -> Office:
    found = db_snapshot("assignment.api_pages_office", lambda: _build_office(world))
    found.world = world  # the test's own, not the builder's copy
    return found


def _build_office(world: World) -> Office:
    found = Office(world)
    found.handler("a.one", lines=["motor"], authority="5000")
    found.handler("a.two", lines=["motor", "medical"])
    found.mode("active")
    found.report({"amount": "100.00"}, {"amount": "200.00"}, {"amount": "9000.00"})
    jobs.apply_pending()
    return found


def test_roles_and_tenants_on_every_endpoint(world, office: Office):
    other = Office(world, "BBB")
    adjuster = office.principal("acme.adj", Role.ADJUSTER).actor.split(":")[1]
    quality = office.principal("acme.qm", Role.QUALITY_MANAGER).actor.split(":")[1]
    world.user("cbirc.gd", Role.REGULATOR, None)
    calls = [
        ("get", "/api/v1/assignment/load", None),
        ("get", "/api/v1/assignment/profiles", None),
        ("put", "/api/v1/assignment/profiles/a.one", {"lines": ["motor"]}),
        (
            "post",
            "/api/v1/assignment/leaves",
            {"username": "a.one", "starts_on": "2026-12-01", "ends_on": "2026-12-02"},
        ),
        ("delete", "/api/v1/assignment/leaves/1", None),
        ("put", "/api/v1/assignment/mode", {"mode": "monitor"}),
        ("post", "/api/v1/assignment/rebalance", {"claims": ["ACME-C0001"], "handler": "a.two", "reason": "x"}),
        ("get", "/api/v1/assignment/decisions", None),
    ]
    for username in (adjuster, quality, "cbirc.gd"):
        client = _client(username)
        for method, url, body in calls:
            response = client.request(method, url, json=body)
            assert response.status_code == 403, (username, url, response.text)
        assert client.get("/assignment").status_code == 403
    # The supervisor may not switch the mode (admin only); the other tenant's staff see only their own.
    supervisor = _client("acme.sup")
    assert supervisor.put("/api/v1/assignment/mode", json={"mode": "monitor"}).status_code == 403
    bbb = _client("bbb.sup")
    assert bbb.get("/api/v1/assignment/load").json()["handlers"] == []
    refused = bbb.post(
        "/api/v1/assignment/rebalance", json={"claims": ["ACME-C0001"], "handler": "a.two", "reason": "搬走"}
    )
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "handler"
    assert bbb.put("/api/v1/assignment/profiles/a.one", json={}).status_code == 404  # not their user
    del other


def test_load_per_handler(office: Office):
    body = _client("acme.sup").get("/api/v1/assignment/load").json()
    rows = {h["username"]: h for h in body["handlers"]}
    assert body["mode"] == "active" and body["rules_version"] == "2026.12-1"
    # 100 and 200 CNY: one each (round-robin); 9 000 CNY is above a.one's authority: a.two.
    assert rows["a.one"]["open_claims"] == 1 and rows["a.two"]["open_claims"] == 2
    assert rows["a.two"]["weighted"] == 2.0 and rows["a.one"]["capacity"] == 20
    assert body["unassigned"] == {"claims": 0, "complaints": 0}


def test_rebalance_with_reason_is_audited(office: Office):
    client = _client("acme.sup")
    moved = client.post(
        "/api/v1/assignment/rebalance",
        json={"claims": ["ACME-C0001", "ACME-C0002"], "handler": "a.two", "reason": "a.one 出差"},
    )
    assert moved.status_code == 200, moved.text
    assert office.assignee("ACME-C0001") == "a.two" and office.assignee("ACME-C0002") == "a.two"
    with office.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.kind == "assignment.rebalance")).one()
        assert "a.one 出差" in (entry.payload or "") and entry.actor == "user:acme.sup"
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.event_type == "assigned", CaseEvent.actor == "user:acme.sup")
        ).all()
        assert len(events) == 1 and events[0].reason == "a.one 出差"  # ACME-C0002 was a.two's already


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"claims": ["ACME-C0001"], "handler": "a.two", "reason": "  "}, "reason", 422),
        ({"claims": [], "handler": "a.two", "reason": "r"}, "cases", 422),
        ({"claims": ["NOPE"], "handler": "a.two", "reason": "r"}, "claims", 422),
        ({"claims": ["ACME-C0001"], "handler": "nobody", "reason": "r"}, "handler", 422),
        # 9 000 CNY is above a.one's authority (5 000).
        ({"claims": ["ACME-C0003"], "handler": "a.one", "reason": "r"}, "handler", 422),
    ],
)
def test_rebalance_refusals_name_the_field(office: Office, body, field, status):
    response = _client("acme.sup").post("/api/v1/assignment/rebalance", json=body)
    assert response.status_code == status and response.json()["problems"][0]["field"] == field
    assert office.assignee("ACME-C0003") == "a.two"  # nothing moved


def test_refusal_in_chinese_for_authority(office: Office):
    response = _client("acme.sup").post(
        "/api/v1/assignment/rebalance",
        json={"claims": ["ACME-C0003"], "handler": "a.one", "reason": "r"},
        headers={"Accept-Language": "en"},
    )
    assert "authority" in response.json()["problems"][0]["message"]


def test_profiles_leave_and_mode_are_audited(office: Office):
    admin = _client("acme.admin")
    assert (
        admin.put("/api/v1/assignment/profiles/a.one", json={"lines": ["boat"]}).json()["problems"][0]["field"]
        == "lines"
    )
    assert admin.put("/api/v1/assignment/profiles/a.one", json={"capacity": 0}).status_code == 422
    assert admin.put("/api/v1/assignment/profiles/a.one", json={"lines": ["motor"], "capacity": 3}).status_code == 200
    leave = admin.post(
        "/api/v1/assignment/leaves", json={"username": "a.one", "starts_on": "2026-12-05", "ends_on": "2026-12-01"}
    )
    assert leave.status_code == 422 and leave.json()["problems"][0]["field"] == "ends_on"
    made = admin.post(
        "/api/v1/assignment/leaves", json={"username": "a.one", "starts_on": "2026-12-01", "ends_on": "2026-12-31"}
    )
    assert made.status_code == 201
    assert admin.delete(f"/api/v1/assignment/leaves/{made.json()['id']}").status_code == 204
    assert admin.put("/api/v1/assignment/mode", json={"mode": "auto"}).json()["problems"][0]["field"] == "mode"
    assert admin.put("/api/v1/assignment/mode", json={"mode": "monitor"}).json()["mode"] == "monitor"
    with office.session() as session:
        kinds = [e.kind for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()]
    assert kinds.count("config.handler_leave") == 2 and kinds[-1] == "config.assignment_mode"
    assert "config.handler_profile" in kinds


def test_load_page_renders_and_rebalances(office: Office):
    jobs.snapshot()
    with office.session() as session:
        assert session.scalars(select(LoadSnapshot).where(LoadSnapshot.user_id.is_(None))).one().open_claims == 0
    client = _client("acme.sup")
    page = client.get("/assignment")
    assert page.status_code == 200
    assert 'data-handler="a.one"' in page.text and 'id="load-data"' in page.text and "ACME-C0003" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    refused = client.post(
        "/assignment/rebalance",
        data={"claims": ["ACME-C0003"], "handler": "a.one", "reason": "调整", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and 'id="err-handler"' in refused.text
    error = re.search(r'id="err-handler"[^>]*><span class="field-error-detail">([^<]+)<', refused.text)
    assert error is not None and "ACME-C0003" in error.group(1) and "a.one" in error.group(1)
    assert 'value="ACME-C0003" id="pick-ACME-C0003" checked' in refused.text  # the form kept its choice
    done = client.post(
        "/assignment/rebalance",
        data={"claims": ["ACME-C0001"], "handler": "a.two", "reason": "调整", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/assignment?done=1"
    assert office.assignee("ACME-C0001") == "a.two"


def test_a_branch_supervisor_sees_and_moves_only_their_subtree(office: Office):
    from claimwatch.auth import repository as auth_repository
    from claimwatch.tenancy import repository as tenancy_repository

    office.handler("sh.one", lines=["motor"], org_code="ACME-SH")
    office.principal("sh.sup", Role.SUPERVISOR)
    with office.session() as session:
        user = auth_repository.user_by_username(session, "sh.sup")
        unit = tenancy_repository.org_unit_by_code(session, "ACME-SH")
        assert user is not None and unit is not None
        user.org_unit_id = unit.id
    client = _client("sh.sup")
    assert [h["username"] for h in client.get("/api/v1/assignment/load").json()["handlers"]] == ["sh.one"]
    # a.two covers the whole tenant, not the Shanghai subtree: not this supervisor's to give work to.
    refused = client.post(
        "/api/v1/assignment/rebalance", json={"claims": ["ACME-C0001"], "handler": "a.two", "reason": "r"}
    )
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "handler"
