"""Catastrophe events (大灾) end to end: an admin declares one (API; audited); the stored claims it covers (region,
line, accident date in the period) join its green channel with priority 3 and the green-channel clock, closed
ones only carry the event; a claim reported later joins at report time; handlers are prompted to consider an
advance payment (先予支付, art. 25); the event's figures by region; bad declarations change nothing; the CLI.

One small world per dialect (module scope). Rule set in MONITOR mode: a declaration acts all the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from claimwatch import db, reactions
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import StaffNotification
from claimwatch.sla.models import SlaClock
from claimwatch.triage import catastrophe_cli, catastrophe_queries, catastrophes
from claimwatch.triage import service as triage_service
from claimwatch.triage import subscriptions as triage_subscriptions
from claimwatch.triage.catastrophe_models import Catastrophe
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.kpi.helpers import ingest, local
from tests.reports.helpers import module_database

BASE = local(2026, 9, 6, 9, 0)  # the reports (local time)
IN_PERIOD = local(2026, 9, 5, 14, 0)  # an accident during the typhoon
BEFORE = local(2026, 8, 20, 14, 0)
EVENT = {
    "code": "TY-2026-09",
    "name": "台风“摩羯”",
    "name_en": "Typhoon Yagi",
    "kind": "typhoon",
    "region_codes": ["440000", "460000"],
    "lines": ["motor", "property"],
    "starts_on": "2026-09-04",
    "ends_on": "2026-09-10",
}


@dataclass
class Storm:
    client: TestClient
    tenant: TenantHandle
    admin_key: str
    adjuster_key: str
    joined: dict[str, Any]


def _report(number: str, hours: float, *, line: str = "motor", region: str = "440000", accident: Any = IN_PERIOD):
    claim: dict[str, Any] = {
        "line": line,
        "policy_number": f"POL-{number}",
        "claimant": {"name": "李四", "phone": "13900000001"},
        "reported_amount": "20000.00",
        "region_code": region,
    }
    if accident is not None:
        claim["details"] = {"accident_at": accident.isoformat()}
    at = BASE + dt.timedelta(hours=hours)
    return {
        "event_id": f"{number}-r",
        "claim_number": number,
        "type": "reported",
        "occurred_at": at.isoformat(),
        "claim": claim,
    }


def _event(number: str, kind: str, hours: float, **values: Any) -> dict[str, Any]:
    at = (BASE + dt.timedelta(hours=hours)).isoformat()
    return {"event_id": f"{number}-{kind}-{hours}", "claim_number": number, "type": kind, "occurred_at": at, **values}


def _claim(session: Session, number: str) -> Claim:
    return session.execute(select(Claim).where(Claim.number == number)).scalar_one()


def _session(tenant: TenantHandle) -> Any:
    return unit_of_work(TenantContext.for_tenant(tenant.id))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def storm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Storm]:
    tmp = tmp_path_factory.mktemp(f"storm-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    handlers = reactions.subscribers(reactions.CASE_EVENTS)  # loads the wiring first
    added = [
        (position, handler)
        for position, handler in (
            (0, triage_subscriptions.triage_claims),  # first, before the clocks (claimwatch/subscriptions.py)
            (None, triage_subscriptions.prompt_advance_payment),
        )
        if handler not in handlers
    ]
    for position, handler in added:
        chain = reactions._subscribers[reactions.CASE_EVENTS]
        chain.insert(0, handler) if position == 0 else chain.append(handler)
    with pytest.MonkeyPatch.context():
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        tenant = world.tenant("ACME", "示例保险")
        world.user("h.one", Role.ADJUSTER, tenant)
        with _session(tenant) as session:
            admin = Principal(role=Role.ADMIN, tenant_id=tenant.id, actor="user:admin")
            triage_service.load_rule_set(session, admin, mode="monitor")
        client = TestClient(shared_app())
        ingest(
            client,
            tenant,
            [
                _report("C1", 0),
                _report("C2", 0.1, accident=BEFORE),  # the accident was before the typhoon
                _report("C3", 0.2, region="310000"),  # Shanghai: not in the event's regions
                _report("C4", 0.3, line="medical"),  # not in the event's lines
                _report("C5", 0.4, accident=None),  # no accident date: the report date (in the period)
                _report("C6", 0.5),
            ],
        )
        ingest(
            client,
            tenant,
            [
                _event("C1", "assigned", 1, assignee="h.one"),
                _event("C6", "transition", 1, to_status="withdrawn", reason="撤案"),
            ],
        )
        admin_key = world.api_key(tenant, Role.ADMIN)
        response = client.post("/api/v1/triage/catastrophes", json=EVENT, headers={"X-API-Key": admin_key})
        assert response.status_code == 201, response.text
        joined = response.json()
        # After the declaration: a new claim in the region joins at report, and is prompted once assigned.
        ingest(client, tenant, [_report("C7", 2, line="property")])
        ingest(client, tenant, [_event("C7", "assigned", 3, assignee="h.one")])
        yield Storm(client, tenant, admin_key, world.api_key(tenant, Role.ADJUSTER), joined)
    for _, handler in added:
        reactions._subscribers[reactions.CASE_EVENTS].remove(handler)
    get_settings.cache_clear()
    for _ in databases:
        pass


def test_declaring_joins_the_covered_claims(storm: Storm) -> None:
    assert (storm.joined["code"], storm.joined["joined"], storm.joined["joined_green"]) == ("TY-2026-09", 3, 2)
    with _session(storm.tenant) as session:
        event = session.execute(select(Catastrophe)).scalar_one()
        state = {
            n: (c.route, c.priority, c.catastrophe_id == event.id)
            for n in ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
            for c in [_claim(session, n)]
        }
        assert state == {
            "C1": ("green", 3, True),
            "C2": ("normal", 0, False),
            "C3": ("normal", 0, False),
            "C4": ("normal", 0, False),
            "C5": ("green", 3, True),
            "C6": ("normal", 0, True),  # withdrawn: carries the event for its figures, nothing else
            "C7": ("green", 3, True),  # reported after the declaration: joined at report (monitor mode too)
        }
        # The tighter green-channel clock: from the declaration for C1, from the report for C7.
        clocks = {
            number: session.execute(
                select(SlaClock).where(
                    SlaClock.claim_id == _claim(session, number).id, SlaClock.policy_code == "green_channel_decision"
                )
            ).scalar_one_or_none()
            for number in ("C1", "C2", "C7")
        }
        assert clocks["C2"] is None
        assert clocks["C1"] is not None and clocks["C1"].state == "running"
        assert clocks["C1"].started_at > BASE + dt.timedelta(hours=1)
        assert clocks["C7"] is not None and clocks["C7"].started_at == (BASE + dt.timedelta(hours=2)).astimezone(dt.UTC)
        # Audited with what it covers and who joined.
        entry = session.execute(select(AuditEntry).where(AuditEntry.kind == "triage.catastrophe_declared")).scalar_one()
        assert entry.subject == "TY-2026-09" and entry.actor.startswith("api_key")
        assert '"joined_claims":["C1","C5","C6"]' in (entry.payload or "").replace(" ", "")
        # Advance payment prompted: h.one for C1 (named at the declaration) and for C7 (once assigned).
        notices = session.execute(
            select(StaffNotification).where(StaffNotification.kind == catastrophes.ADVANCE_PAYMENT_KIND)
        ).scalars()
        assert sorted(n.link or "" for n in notices) == ["/claims/C1", "/claims/C7"]


def test_figures_by_region_and_the_claim_page_prompt(storm: Storm) -> None:
    client, tenant = storm.client, storm.tenant
    ingest(client, tenant, [_event("C5", "amounts", 4, paid_amount="1500.00")])
    with _session(tenant) as session:  # C1 past its target: overdue
        session.execute(
            SlaClock.__table__.update()
            .where(SlaClock.claim_id == _claim(session, "C1").id, SlaClock.policy_code == "green_channel_decision")
            .values(breached_at=dt.datetime(2026, 9, 7, tzinfo=dt.UTC))
        )
    response = client.get(
        storm.joined["url"].replace("/triage", "/api/v1/triage"), headers={"X-API-Key": storm.adjuster_key}
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    (row,) = detail["by_region"]
    assert (row["region"], row["claims"], row["open"], row["overdue"], row["paid_count"]) == ("440000", 4, 3, 1, 1)
    assert Decimal(str(row["paid"])) == Decimal("1500.00") and detail["total"]["claims"] == 4
    assert [c["number"] for c in detail["claims_list"]] == ["C1", "C5", "C7"]
    assert [c["overdue"] for c in detail["claims_list"]] == [True, False, False]
    listed = client.get("/api/v1/triage/catastrophes", headers={"X-API-Key": storm.adjuster_key}).json()
    assert [(e["code"], e["claims"], e["open"], e["overdue"]) for e in listed] == [("TY-2026-09", 4, 3, 1)]
    with _session(tenant) as session:
        prompt = catastrophe_queries.claim_catastrophe(session, _claim(session, "C1"), "zh")
        assert prompt is not None and prompt["advance_payment"] and prompt["code"] == "TY-2026-09"
        paid = catastrophe_queries.claim_catastrophe(session, _claim(session, "C5"), "en")
        assert paid is not None and not paid["advance_payment"]  # something was paid
        assert catastrophe_queries.claim_catastrophe(session, _claim(session, "C2"), "en") is None


def test_bad_declarations_change_nothing_and_amending_widens(storm: Storm) -> None:
    client, admin = storm.client, {"X-API-Key": storm.admin_key}

    def declare(headers: dict[str, str], **changes: Any) -> Any:
        return client.post("/api/v1/triage/catastrophes", json={**EVENT, "code": "FL-1", **changes}, headers=headers)

    with _session(storm.tenant) as session:
        head = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    for changes, field, status in (
        ({"region_codes": ["440000", "999999"]}, "region_codes", 422),
        ({"lines": ["boats"]}, "lines", 422),
        ({"kind": "meteor"}, "kind", 422),
        ({"ends_on": "2026-09-01"}, "ends_on", 422),
        ({"code": "TY-2026-09"}, "code", 409),
    ):
        refused = declare(admin, **changes)
        assert refused.status_code == status, refused.text
        assert refused.json()["problems"][0]["field"] == field
    assert declare({"X-API-Key": storm.adjuster_key}).status_code == 403
    with _session(storm.tenant) as session:
        assert session.execute(select(func.count()).select_from(Catastrophe)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == head
    # Widened to Shanghai: C3 joins; amended, audited with the values before.
    url = storm.joined["url"].replace("/triage", "/api/v1/triage")
    widened = client.patch(url, json={"region_codes": ["440000", "460000", "310000"]}, headers=admin)
    assert widened.status_code == 200 and widened.json()["joined"] == 1, widened.text
    with _session(storm.tenant) as session:
        assert _claim(session, "C3").route == "green" and _claim(session, "C3").priority == 3
        entry = session.execute(select(AuditEntry).where(AuditEntry.kind == "triage.catastrophe_amended")).scalar_one()
        assert '"before"' in (entry.payload or "")


def test_cli(storm: Storm) -> None:
    runner = CliRunner()
    listed = runner.invoke(catastrophe_cli.app, ["list", "--tenant", "ACME"])
    assert listed.exit_code == 0 and "TY-2026-09" in listed.output, listed.output
    bad = runner.invoke(
        catastrophe_cli.app,
        ["declare", "EQ-1", "--tenant", "ACME", "--name", "地震", "--kind", "earthquake", "--regions", "123456",
         "--from", "2026-09-01"],
    )  # fmt: skip
    assert bad.exit_code == 1 and "unknown region code '123456'" in bad.output
    shown = runner.invoke(catastrophe_cli.app, ["show", "TY-2026-09", "--tenant", "ACME"])
    assert shown.exit_code == 0 and "440000" in shown.output, shown.output
