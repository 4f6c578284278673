"""Service-request KPIs (h2): on-time first response, overdue share, first-contact resolution and backlog age, with
requests under peak relief in their own column — a 31-hour answer under peak relief is on time there and never
counted (nor hidden) in the normal column; through the service and the API, one insurer at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.servicedesk import clocks, kpis, peak
from claimwatch.servicedesk.models import ServiceRequest
from tests.apps import shared_app
from tests.factories import World
from tests.servicedesk.clock_world import T0, Desk, add_request, build
from tests.snapshots import Snapshot

H = dt.timedelta(hours=1)
NOW = T0 + 100 * H


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.h2", lambda: build(world))


def test_band_labels_and_months() -> None:
    assert kpis.band_labels((1, 3, 7)) == ["<1d", "1-3d", "3-7d", ">=7d"]
    zone = dt.timezone(dt.timedelta(hours=8))
    assert kpis.parse_month("2026-03", zone, T0) == (2026, 3)
    assert kpis.parse_month(None, zone, dt.datetime(2026, 2, 28, 17, tzinfo=dt.UTC)) == (2026, 3)  # local March
    start, end = kpis.month_bounds(zone, 2026, 12)
    assert (start.isoformat(), end.isoformat()) == ("2026-11-30T16:00:00+00:00", "2026-12-31T16:00:00+00:00")


def _answer(session: Session, request: ServiceRequest, after: float) -> None:
    request.first_response_at = request.received_at + after * H
    request.status = "in_progress"
    clocks.on_first_response(session, request, request.first_response_at)


def _resolve(session: Session, request: ServiceRequest, after: float, first_contact: bool) -> None:
    request.resolved_at = request.received_at + after * H
    request.status, request.first_contact_resolved, request.resolution_code = "resolved", first_contact, "answered"
    clocks.stop_all(session, request, request.resolved_at)


def test_normal_and_peak_apart_through_the_service_and_the_api(desk: Desk) -> None:
    sup = desk.principal("sd.sup", Role.SUPERVISOR)
    with unit_of_work(TenantContext.for_tenant(desk.b.id)) as session:
        add_request(session, desk.b.id, T0)  # another insurer
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        add_request(session, desk.a.id, T0 - 24 * 10 * H)  # February: another month
        n1, n2, n3 = (add_request(session, desk.a.id, T0) for _ in range(3))
        n4 = add_request(session, desk.a.id, T0, team="documents")
        add_request(session, desk.a.id, NOW - 2 * H)  # n5
        _answer(session, n1, 3)
        _resolve(session, n1, 5, True)
        _answer(session, n2, 27)  # late
        _resolve(session, n2, 30, False)  # resolution late too: one overdue request
        n4.status = "cancelled"
        clocks.stop_all(session, n4, T0 + H, void=True)
        # n3: never answered (late by NOW); n5: received 2 h ago (pending)

        period = peak.declare(session, sup, T0, T0 + 72 * H, [], "春节后保全集中办理", now=T0)
        p1 = add_request(session, desk.a.id, T0 + H, category="policy_change")
        p2 = add_request(session, desk.a.id, T0 + 2 * H, category="policy_change")
        assert p1.peak_period_id == p2.peak_period_id == period.id
        _answer(session, p1, 31)  # late at 24 h, on time under the 36-hour peak target
        _resolve(session, p1, 32, True)
        _answer(session, p2, 40)  # late even under peak relief

        report = kpis.month_kpis(session, desk.a.id, 2026, 3, now=NOW).as_dict()
        by_team = kpis.team_kpis(session, desk.a.id, 2026, 3, now=NOW)
        everything = kpis.backlog(session, desk.a.id, NOW)

    normal, relief = report["normal"], report["peak"]
    assert (normal["received"], normal["cancelled"], normal["counted"]) == (5, 1, 4)
    assert (normal["answered_on_time"], normal["first_response_late"], normal["first_response_pending"]) == (1, 2, 1)
    assert normal["on_time_rate"] == pytest.approx(1 / 3) and normal["on_time_met"] is False
    assert (normal["overdue"], normal["overdue_share"], normal["overdue_met"]) == (2, 0.5, False)
    assert (normal["resolved"], normal["first_contact_resolved"], normal["fcr_rate"]) == (2, 1, 0.5)
    assert normal["relieved"] == 0 and normal["backlog"] == {"<1d": 1, "1-3d": 0, "3-7d": 1, ">=7d": 0}

    assert (relief["received"], relief["answered_on_time"], relief["first_response_late"]) == (2, 1, 1)
    assert (relief["on_time_rate"], relief["relieved"], relief["overdue"]) == (0.5, 1, 1)
    assert (relief["fcr_rate"], relief["backlog_total"]) == (1.0, 1)
    assert report["targets"] == {"on_time_rate": 0.95, "overdue_share_max": 0.05} and report["month"] == "2026-03"

    assert sorted(by_team) == ["documents", "general"]
    assert (by_team["documents"].normal.received, by_team["general"].peak.received) == (1, 2)
    assert everything["normal"]["<1d"] == 1 and sum(everything["normal"].values()) == 3  # + February's

    api = TestClient(shared_app(), headers={"X-API-Key": desk.keys["handler"]})
    answered = api.get("/api/v1/service-requests/kpis", params={"month": "2026-03"})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (body["normal"]["answered_on_time"], body["peak"]["relieved"], body["normal"]["cancelled"]) == (1, 1, 1)
    assert "backlog_now" in body and body["backlog_bands"] == ["<1d", "1-3d", "3-7d", ">=7d"]
    teams = api.get("/api/v1/service-requests/kpis", params={"month": "2026-03", "by_team": "true"}).json()
    assert [t["team"] for t in teams["teams"]] == ["documents", "general"]
    other = TestClient(shared_app(), headers={"X-API-Key": desk.keys["b_sup"]})
    theirs = other.get("/api/v1/service-requests/kpis", params={"month": "2026-03"}).json()
    assert (theirs["normal"]["received"], theirs["peak"]["received"]) == (1, 0)
    bad = api.get("/api/v1/service-requests/kpis", params={"month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "month"
