"""Peak mode (h2): declared with a reason and an end (bad input refused by field, nothing written), never after the
fact, never overlapping; a request received inside it gets the 36-hour target and the period's id, an emergency
keeps its 2 hours; ended early; proposed from the forecast; audited; its API by role and insurer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import AccessDenied
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Invalid
from claimwatch.servicedesk import clocks, peak
from claimwatch.servicedesk.models import PeakPeriod
from tests.apps import shared_app
from tests.factories import World
from tests.servicedesk.clock_world import T0, Desk, add_request, build, by_policy
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

H = dt.timedelta(hours=1)


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.h2", lambda: build(world))


def _audited(session: Session, kind: str) -> int:
    return int(session.execute(select(func.count()).where(AuditEntry.kind == kind)).scalar_one())


def test_declare_refusals_relief_at_intake_end_early_and_forecast(desk: Desk) -> None:
    sup = desk.principal("sd.sup", Role.SUPERVISOR)
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        for kwargs, field in (
            ({"reason": ""}, "reason"),
            ({"ends_at": None}, "ends_at"),
            ({"ends_at": T0 - H}, "ends_at"),
            ({"ends_at": T0 + dt.timedelta(days=40)}, "ends_at"),
            ({"starts_at": T0 - 2 * H}, "starts_at"),
            ({"categories": ["lottery"]}, "categories"),
            ({"response_hours": 12}, "response_hours"),
        ):
            args = {"starts_at": T0, "ends_at": T0 + 72 * H, "categories": [], "reason": "双十一后咨询激增"} | kwargs
            with pytest.raises(Invalid) as refused:
                peak.declare(session, sup, now=T0, **args)  # type: ignore[arg-type]
            assert refused.value.field == field, (kwargs, refused.value)
        with pytest.raises(AccessDenied):
            peak.declare(session, desk.principal("sd.handler", Role.COMPLAINT_HANDLER), T0, T0 + H, [], "x", now=T0)
        assert session.execute(select(func.count()).select_from(PeakPeriod)).scalar_one() == 0
        assert _audited(session, "servicedesk.peak_declared") == 0

        period = peak.declare(session, sup, T0, T0 + 72 * H, ["enquiry"], "  双十一后咨询激增 ", now=T0)
        assert (period.reason, period.response_hours, period.source, period.audit_seq is not None) == (
            "双十一后咨询激增",
            36.0,
            "manual",
            True,
        )
        with pytest.raises(Conflict) as clash:
            peak.declare(session, sup, T0 + 24 * H, T0 + 96 * H, [], "全渠道高峰", now=T0)
        assert clash.value.field == "starts_at"
        other = peak.declare(session, sup, T0 + 24 * H, T0 + 48 * H, ["policy_change"], "保全集中", now=T0)

        relieved = add_request(session, desk.a.id, T0 + H)
        emergency = add_request(session, desk.a.id, T0 + H, priority="emergency")
        elsewhere = add_request(session, desk.a.id, T0 + H, category="claim_report")
        assert relieved.peak_period_id == period.id
        assert by_policy(session, relieved)[clocks.FIRST_RESPONSE].red_due_at == T0 + 37 * H
        assert emergency.peak_period_id is None and elsewhere.peak_period_id is None
        assert by_policy(session, emergency)[clocks.FIRST_RESPONSE].red_due_at == T0 + 3 * H

        peak.end_early(session, sup, period.id, T0 + 10 * H)
        with pytest.raises(Conflict):
            peak.end_early(session, sup, period.id, T0 + 11 * H)
        after = add_request(session, desk.a.id, T0 + 11 * H)
        assert after.peak_period_id is None
        assert by_policy(session, after)[clocks.FIRST_RESPONSE].red_due_at == T0 + 35 * H
        assert peak.period_view(period, T0 + 11 * H)["state"] == "ended"
        assert peak.period_view(other, T0 + 11 * H)["state"] == "planned"
        assert _audited(session, "servicedesk.peak_ended") == 1

        proposed = peak.propose_from_forecast(
            session, sup, dt.date(2026, 3, 16), dt.date(2026, 3, 18), forecast_id=7, now=T0
        )
        assert proposed.source == "forecast" and "预测 #7" in proposed.reason
        assert proposed.ends_at - proposed.starts_at == dt.timedelta(days=3)
        assert [p.id for p in peak.periods(session, desk.a.id)] == [proposed.id, other.id, period.id]
        assert _audited(session, "servicedesk.peak_declared") == 3


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_peak_api_by_role_and_insurer(desk: Desk) -> None:
    sup = TestClient(shared_app(), headers={"X-API-Key": desk.keys["sup"]})
    handler = TestClient(shared_app(), headers={"X-API-Key": desk.keys["handler"]})
    other = TestClient(shared_app(), headers={"X-API-Key": desk.keys["b_sup"]})
    starts = dt.datetime.now(dt.UTC) + H
    body = {"starts_at": starts.isoformat(), "ends_at": (starts + 48 * H).isoformat(), "reason": "台风过境"}
    assert handler.post("/api/v1/peak-periods", json=body).status_code == 403
    missing = sup.post("/api/v1/peak-periods", json=body | {"reason": None})
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "reason"
    declared = ok(sup.post("/api/v1/peak-periods", json=body), 201)
    assert (declared["state"], declared["response_hours"], declared["categories"]) == ("planned", 36.0, [])
    assert [p["id"] for p in ok(handler.get("/api/v1/peak-periods"))["items"]] == [declared["id"]]
    assert ok(other.get("/api/v1/peak-periods"))["items"] == []
    assert other.post(f"/api/v1/peak-periods/{declared['id']}/end").status_code == 404
    assert ok(sup.post(f"/api/v1/peak-periods/{declared['id']}/end"))["state"] == "ended"
    regulator = TestClient(shared_app(), headers={"Origin": "http://testserver"})
    sign_in(regulator, "sd.reg")
    assert regulator.get("/api/v1/peak-periods").status_code == 403
    assert regulator.get("/api/v1/service-requests/kpis").status_code == 403
