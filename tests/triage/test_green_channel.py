"""The green channel (理赔绿色通道): the default rules (active) put a major case (death) and an elderly claimant (age
from the ID number's birth date) on the green route with their priority; green claims go to the handlers with the
green-channel flag, else to the unit's supervisor (the named manual-assistance handler); every queue puts them
first (the claim list's default order and CSV, /my, the SLA queue page and its JSON, escalations in /my); and
they run the tighter green_channel_decision clock.

One small world per dialect (module scope): N1 normal, G1 elderly (priority 1), G2 death (priority 2), G3 elderly
reported when the green handler no longer takes work (to the supervisor).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch import db, reactions
from claimwatch.assignment import jobs as assignment_jobs
from claimwatch.assignment import service as assignment_service
from claimwatch.assignment.models import AssignmentDecision
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import repository as cases_repository
from claimwatch.cases.models import Claim
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.risk.facts import ClaimFacts
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla import work as sla_work
from claimwatch.sla.models import SlaClock
from claimwatch.sla.queries import QueueQuery, queue_page, queue_view
from claimwatch.triage import loader as triage_loader
from claimwatch.triage import service as triage_service
from claimwatch.triage import subscriptions as triage_subscriptions
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.kpi.helpers import ingest, local
from tests.reports.helpers import module_database

BASE = local(2026, 11, 2, 9, 0)  # a Monday
ELDERLY_ID = "110101195003071234"  # born 1950-03-07: 76 at the report
YOUNG_ID = "110101199003071234"


@dataclass
class Green:
    client: TestClient
    tenant: TenantHandle
    admin_key: str


def _report(number: str, hours: float, id_number: str = YOUNG_ID, **details: Any) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "line": "motor",
        "policy_number": f"POL-{number}",
        "claimant": {"name": "王五", "phone": "13700000001", "id_number": id_number},
        "reported_amount": "20000.00",
        "region_code": "440000",
        "org_code": "ACME-B1",
    }
    if details:
        claim["details"] = details
    at = (BASE + dt.timedelta(hours=hours)).isoformat()
    return {"event_id": f"{number}-r", "claim_number": number, "type": "reported", "occurred_at": at, "claim": claim}


def _claim(session: Session, number: str) -> Claim:
    return session.execute(select(Claim).where(Claim.number == number)).scalar_one()


def _principal(session: Session, username: str) -> Principal:
    user = auth_repository.user_by_username(session, username)
    assert user is not None
    return auth_service.principal_for_user(user)


def _profile(session: Session, admin: Principal, username: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "username": username,
        "lines": [],
        "claim_types": [],
        "authority": None,
        "org_code": "ACME-B1",
        "region_codes": [],
        "capacity": 20,
        "handles_claims": True,
        "handles_complaints": False,
        "active": True,
    } | fields
    assignment_service.save_profile(session, admin, assignment_service.ProfileChange(**values))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def green(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Green]:
    tmp = tmp_path_factory.mktemp(f"green-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    handlers = reactions.subscribers(reactions.CASE_EVENTS)  # loads the wiring first
    wired = triage_subscriptions.triage_claims in handlers
    if not wired:  # until claimwatch/subscriptions.py loads triage (first, before the clocks and assignment)
        reactions._subscribers[reactions.CASE_EVENTS].insert(0, triage_subscriptions.triage_claims)
    with pytest.MonkeyPatch.context():
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        tenant = world.tenant("ACME", "示例保险")
        for username, role in (("sup.b1", Role.SUPERVISOR), ("adj.a", Role.ADJUSTER), ("adj.g", Role.ADJUSTER)):
            world.user(username, role, tenant)
        admin = Principal(role=Role.ADMIN, tenant_id=tenant.id, actor="user:admin")
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            triage_service.load_rule_set(session, admin, mode="active")
            assignment_service.set_mode(session, admin, "active")
            _profile(session, admin, "sup.b1", capacity=1)  # at capacity after one claim: no ordinary work
            _profile(session, admin, "adj.a")
            _profile(session, admin, "adj.g", green_channel=True)
        client = TestClient(shared_app())
        ingest(client, tenant, [_report("N1", 0), _report("G1", 1, ELDERLY_ID), _report("G2", 2, death=True)])
        assignment_jobs.apply_pending()
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            _profile(session, admin, "adj.g", green_channel=True, active=False)  # no longer takes work
        ingest(client, tenant, [_report("G3", 3, ELDERLY_ID)])
        assignment_jobs.apply_pending()
        yield Green(client, tenant, world.api_key(tenant, Role.ADMIN))
    if not wired:
        reactions._subscribers[reactions.CASE_EVENTS].remove(triage_subscriptions.triage_claims)
    get_settings.cache_clear()
    for _ in databases:
        pass


def test_rules_routes_and_the_named_handler(green: Green) -> None:
    with unit_of_work(TenantContext.for_tenant(green.tenant.id)) as session:
        claims = {n: _claim(session, n) for n in ("N1", "G1", "G2", "G3")}
        names = auth_repository.usernames_by_id(session, {c.assignee_id for c in claims.values() if c.assignee_id})
        outcome = {n: (c.route, c.priority, c.vulnerable, names.get(c.assignee_id or 0)) for n, c in claims.items()}
        assert outcome["G1"] == ("green", 1, True, "adj.g")  # elderly: manual assistance by the green handler
        assert outcome["G2"] == ("green", 2, False, "adj.g")  # a death: a major case
        assert outcome["G3"] == ("green", 1, True, "sup.b1")  # no green handler takes work: the unit's supervisor
        assert outcome["N1"][:3] == ("normal", 0, False) and outcome["N1"][3] in ("adj.a", "adj.g", "sup.b1")
        decision = session.execute(
            select(AssignmentDecision).where(
                AssignmentDecision.case_number == "G3", AssignmentDecision.status == "applied"
            )
        ).scalar_one()
        assert decision.explanation["green_channel"] == "supervisor"
        # The tighter green-channel clock runs for green claims only.
        policies = {
            n: set(session.execute(select(SlaClock.policy_code).where(SlaClock.claim_id == c.id)).scalars())
            for n, c in claims.items()
        }
        assert "green_channel_decision" in policies["G1"] and "green_channel_decision" in policies["G3"]
        assert "green_channel_decision" not in policies["N1"]


def test_rule_precedence_and_priority() -> None:
    rules = triage_loader.load_rule_file(triage_loader.DEFAULT_RULES)

    def outcome(**facts: Any) -> tuple[str, int, bool]:
        found = rules.evaluate(ClaimFacts(line="motor", **facts))
        return found.route, found.priority, found.vulnerable

    assert outcome(amount_cny=600_000) == ("green", 2, False)
    assert outcome(serious_injury=True, claimant_age=70) == ("green", 2, True)
    assert outcome(disability=True) == ("green", 1, True)
    assert outcome(catastrophe=True, claimant_age=80) == ("green", 3, True)
    # Manual review wins the route; the priority stays (the claim is still served first).
    assert outcome(claimant_age=66, risk_level="high") == ("manual_review", 1, True)
    assert outcome(claimant_age=64, amount_cny=1000) == ("normal", 0, False)


def test_priority_first_in_every_queue(green: Green) -> None:
    client, headers = green.client, {"X-API-Key": green.admin_key}
    listed = client.get("/api/v1/claims", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [c["number"] for c in listed.json()["items"]] == ["G2", "G3", "G1", "N1"]
    with unit_of_work(TenantContext.for_tenant(green.tenant.id)) as session:
        everything = cases_repository.ClaimFilter()
        oldest = cases_repository.search_claims(session, everything, 1, 25, sort="reported", descending=False)[1]
        assert [c.number for c in oldest] == ["N1", "G1", "G2", "G3"]  # a chosen order is kept as it is
        pages = [
            [c.number for c in cases_repository.search_claims(session, cases_repository.ClaimFilter(), page, 2)[1]]
            for page in (1, 2, 3)
        ]
        assert pages == [["G2", "G3"], ["G1", "N1"], []]
        csv = [
            c.number for chunk in cases_repository.iter_claims(session, cases_repository.ClaimFilter()) for c in chunk
        ]
        assert csv == ["G2", "G3", "G1", "N1"]
        # /my: the adjuster's own claims, the green channel first.
        adj_g = _principal(session, "adj.g")
        mine = sla_work.my_claims(session, adj_g, "en", dt.datetime.now(dt.UTC), 10, 0)
        assert [item.title for item in mine.items][:2] == ["G2", "G1"]
    # Every claim past its targets: the SLA queue (page and JSON) and /my's escalations, green first.
    sla_jobs.sweep(now=dt.datetime.now(dt.UTC))
    with unit_of_work(TenantContext.for_tenant(green.tenant.id)) as session:
        supervisor = _principal(session, "sup.b1")
        page = queue_page(session, supervisor, QueueQuery(), "en")
        assert [row["claim_number"] for row in page.items][:3] == ["G2", "G1", "G3"]
        assert page.items[-1]["claim_number"] == "N1"
        json_rows = queue_view(session, supervisor, "en")
        assert json_rows[0]["claim_number"] == "G2" and json_rows[-1]["claim_number"] == "N1"
        escalated = sla_work.escalations(session, supervisor, "en", dt.datetime.now(dt.UTC), 10, 0)
        assert escalated.items[0].title == "G2" and escalated.items[-1].title == "N1"
