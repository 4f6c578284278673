"""Forecasts and staffing through the API, service and weekly job, on both databases: ~18 weeks of requests (a
weekly pattern) forecast for a team with the back-test stored; a team or series too short refused
naming ``history``; the staffing plan against the roster flags the days short of staff; the roster by day and by
CSV (all or nothing); peak mode proposed from the plan (h2's peak periods, source forecast), and refused for a day
the plan does not flag; roles and insurers kept apart; local days and the measured handling time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.calendar import service as calendar_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.forecasts import jobs, series, service, staffing
from claimwatch.forecasts.models import RosterDay, VolumeForecast
from claimwatch.servicedesk.models import PeakPeriod, ServiceRequest, ServiceRequestEvent
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

ZONE = ZoneInfo("Asia/Shanghai")
HISTORY_DAYS = 126


@dataclass(frozen=True)
class Fc:
    a: TenantHandle
    b: TenantHandle
    keys: dict[str, str]  # role -> an API key of FA (FB's supervisor: "fb")
    today: str  # the local day the world was built on
    peak_days: list[str]
    quiet_day: str  # a forecast day the plan does not flag


def _request(tenant_id: int, number: str, team: str, category: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "number": number,
        "channel": "phone",
        "category": category,
        "priority": "normal",
        "subject": "咨询",
        "description": "咨询保单信息",
        "team": team,
        "status": "closed",
        "received_at": at,
        "created_by": "test",
        "created_at": at,
        "updated_at": at,
        "articles_used": [],
    }


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZONE).astimezone(dt.UTC)


def build(world: World) -> Fc:
    a, b = world.tenant("FA", "甲保险"), world.tenant("FB", "乙保险")
    keys = {role.value: world.api_key(a, role) for role in (Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADJUSTER)}
    keys["fb"] = world.api_key(b, Role.SUPERVISOR)
    world.user("reg", Role.REGULATOR, None)
    world.user("fa.sup", Role.SUPERVISOR, a)  # the pages (test_forecast_pages.py)
    now = utc_now()
    today = now.astimezone(ZONE).date()
    with unit_of_work(TenantContext.for_tenant(a.id)) as session:
        calendar = calendar_service.get_calendar(session)
        noise = np.random.default_rng(5)
        rows: list[dict[str, Any]] = []
        for back in range(HISTORY_DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            count = int(noise.poisson(30 if calendar.is_working_day(day) else 8))
            for k in range(count):
                rows.append(_request(a.id, f"SR-G-{back}-{k}", "general", "enquiry", _local(day, 9, k % 60)))
            if back <= 20:  # the documents team started three weeks ago: too short to forecast
                rows.append(_request(a.id, f"SR-D-{back}", "documents", "documents", _local(day, 10)))
        session.execute(insert(ServiceRequest), rows)
        forecast = service.run_forecast(session, a.id, "user:fa.sup", "service_requests", "general", now)
        first = forecast.first_day
        for offset in range(7):  # one person 4 hours a day for the first week: weekdays (~5 h of work) are short
            day = first + dt.timedelta(days=offset)
            session.add(RosterDay(tenant_id=a.id, team="general", day=day, staff=1, hours=4, updated_by="t"))
        session.flush()
        plan = staffing.plan(session, a.id, forecast, now)
        peak_days = [d["day"] for d in plan.peak_days]
        quiet = next(d["day"] for d in plan.days[:7] if not d["needs_peak"])
    return Fc(a, b, keys, today.isoformat(), peak_days, quiet)


@pytest.fixture
def fc(world: World, db_snapshot: Snapshot) -> Fc:
    return db_snapshot("forecasts.staffing", lambda: build(world))


def client_of(username: str) -> TestClient:
    client = TestClient(shared_app(), headers={"Origin": "http://testserver"})
    sign_in(client, username)
    return client


def api(fc: Fc, role: str) -> TestClient:
    return TestClient(shared_app(), headers={"X-API-Key": fc.keys[role]})


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_forecast_plan_refusals_roles_and_the_weekly_job(fc: Fc) -> None:
    sup = api(fc, "supervisor")
    found = ok(sup.get("/api/v1/forecasts", params={"team": "general"}))
    forecast, plan = found["forecast"], found["plan"]
    assert forecast["history_days"] == HISTORY_DAYS and forecast["horizon_days"] == 56
    assert forecast["backtest_mape"] is not None and forecast["backtest_mape"] < 30  # Poisson noise alone: ~14 %
    assert len(forecast["backtest"]) == 56 and forecast["model"].startswith("SARIMAX")
    assert (
        len(found["chart"]["history"]["values"]) == 112
        and found["chart"]["history"]["days"][-1] < forecast["first_day"]
    )
    assert plan["aht_minutes"] == 8 and plan["peak_days"] == fc.peak_days and 4 <= len(fc.peak_days) <= 6
    weekday_need = next(d for d in plan["days"] if d["day"] == fc.peak_days[0])
    assert weekday_need["staff_needed"] == 1 and weekday_need["rostered_hours"] == 4 and weekday_need["gap_hours"] < 0
    assert all(d["rostered_staff"] is None for d in plan["days"][7:])
    assert ok(sup.get("/api/v1/forecasts"))["forecast"] is None  # the whole insurer's: not run yet
    assert ok(sup.get("/api/v1/forecasts", params={"series": "claims"}))["forecast"] is None

    short = sup.post("/api/v1/forecasts/run", json={"series": "service_requests", "team": "documents"})
    assert short.status_code == 422 and short.json()["problems"][0]["field"] == "history"
    unknown = sup.post("/api/v1/forecasts/run", json={"series": "service_requests", "team": "nobody"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "team"
    claims_by_team = sup.post("/api/v1/forecasts/run", json={"series": "claims", "team": "general"})
    assert claims_by_team.status_code == 422 and claims_by_team.json()["problems"][0]["field"] == "team"

    assert api(fc, "adjuster").get("/api/v1/forecasts").status_code == 403
    assert client_of("reg").get("/api/v1/forecasts").status_code == 403
    assert api(fc, "quality_manager").post("/api/v1/forecasts/run", json={}).status_code == 403  # reads, does not run
    other = api(fc, "fb")
    assert ok(other.get("/api/v1/forecasts", params={"team": "general"}))["forecast"] is None  # FA's is not FB's

    weekly = jobs.run()
    assert weekly.made == 0 and "FA" not in weekly.refused  # FA forecast this week already
    assert set(weekly.refused["FB"]) == {"service_requests", "claims"}
    with unit_of_work(TenantContext.for_tenant(fc.a.id)) as session:
        assert session.scalar(select(func.count()).select_from(VolumeForecast)) == 1
        kinds = session.scalars(
            select(AuditEntry.kind).where(AuditEntry.kind == service.AUDIT_FORECAST).order_by(AuditEntry.seq)
        ).all()
        assert len(kinds) == 1


ROSTER_BAD = "班组,日期,人数,每人工时\ngeneral,2030-01-07,3,8\nnobody,2030-01-08,3,8\ngeneral,2030/1/9,-1,8\n"
ROSTER_GOOD = "班组,日期,人数\ngeneral,2030/1/7,3\ngeneral,2030-01-08,4\n"


def test_roster_by_day_and_csv_and_peak_mode_from_the_plan(fc: Fc) -> None:
    sup, qm = api(fc, "supervisor"), api(fc, "quality_manager")
    first_peak = fc.peak_days[0]
    ok(sup.put("/api/v1/forecasts/roster", json={"team": "general", "day": first_peak, "staff": 1, "hours": 8}))
    plan = ok(sup.get("/api/v1/forecasts", params={"team": "general"}))["plan"]
    assert first_peak not in plan["peak_days"] and len(plan["peak_days"]) == len(fc.peak_days) - 1
    assert (
        qm.put("/api/v1/forecasts/roster", json={"team": "general", "day": first_peak, "staff": 9}).status_code == 403
    )
    unknown = sup.put("/api/v1/forecasts/roster", json={"team": "nobody", "day": first_peak, "staff": 1})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "team"

    headers = {"Content-Type": "text/csv"}
    bad = sup.post("/api/v1/forecasts/roster/import", content=ROSTER_BAD.encode(), headers=headers)
    assert bad.status_code == 422
    assert {(p["line"], p["field"]) for p in bad.json()["problems"]} == {(3, "team"), (4, "staff")}
    good = ok(sup.post("/api/v1/forecasts/roster/import", content=ROSTER_GOOD.encode(), headers=headers), 201)
    assert good["created"] == 2
    listed = ok(sup.get("/api/v1/forecasts/roster", params={"from": "2030-01-01", "to": "2030-01-31"}))
    assert [(r["day"], r["staff"], r["hours"]) for r in listed] == [("2030-01-07", 3, 8.0), ("2030-01-08", 4, 8.0)]

    second = fc.peak_days[1]
    proposed = ok(
        qm.post("/api/v1/forecasts/peak-proposals", json={"team": "general", "first_day": second, "last_day": second}),
        201,
    )
    assert proposed["source"] == "forecast"
    quiet = qm.post(
        "/api/v1/forecasts/peak-proposals",
        json={"team": "general", "first_day": fc.quiet_day, "last_day": fc.quiet_day},
    )
    assert quiet.status_code == 422 and quiet.json()["problems"][0]["field"] == "first_day"
    again = sup.post(  # the same days again: h2's overlap rule
        "/api/v1/forecasts/peak-proposals", json={"team": "general", "first_day": second, "last_day": second}
    )
    assert again.status_code == 409
    assert (
        api(fc, "adjuster")
        .post("/api/v1/forecasts/peak-proposals", json={"team": "general", "first_day": second, "last_day": second})
        .status_code
        == 403
    )
    with unit_of_work(TenantContext.for_tenant(fc.a.id)) as session:
        periods = session.scalars(select(PeakPeriod)).all()
        assert [(p.source, p.categories) for p in periods] == [("forecast", ["enquiry"])]
        assert (
            session.scalar(select(func.count()).select_from(RosterDay).where(RosterDay.day >= dt.date(2030, 1, 1))) == 2
        )
        kinds = set(session.scalars(select(AuditEntry.kind)).all())
        assert {service.AUDIT_ROSTER, service.AUDIT_ROSTER_IMPORT} <= kinds


def test_local_days_and_measured_handling_time(fc: Fc) -> None:
    tuesday = dt.date(2025, 6, 10)
    with unit_of_work(TenantContext.for_tenant(fc.b.id)) as session:
        late = _request(fc.b.id, "SR-LATE", "general", "enquiry", _local(tuesday, 23, 30))  # 15:30 UTC
        quick = _request(fc.b.id, "SR-Q", "general", "enquiry", _local(tuesday, 9))
        slow = _request(fc.b.id, "SR-S", "general", "enquiry", _local(tuesday, 9))
        quick["resolved_at"], slow["resolved_at"] = _local(tuesday, 14, 30), _local(tuesday + dt.timedelta(days=2), 9)
        session.execute(insert(ServiceRequest), [late, quick, slow])
        ids = {number: id_ for number, id_ in session.execute(select(ServiceRequest.number, ServiceRequest.id))}
        events = [  # quick: 9-10 running, waiting for the customer until 14:00, resolved 14:30 → 90 working minutes
            ("SR-Q", "received", _local(tuesday, 9)),
            ("SR-Q", "waiting", _local(tuesday, 10)),
            ("SR-Q", "resumed", _local(tuesday, 14)),
            ("SR-Q", "resolved", _local(tuesday, 14, 30)),
            ("SR-S", "received", _local(tuesday, 9)),  # two working days: capped at 240 minutes
            ("SR-S", "resolved", _local(tuesday + dt.timedelta(days=2), 9)),
        ]
        session.execute(
            insert(ServiceRequestEvent),
            [
                {"tenant_id": fc.b.id, "request_id": ids[n], "kind": k, "actor": "t", "at": at, "detail": {}}
                for n, k, at in events
            ],
        )
        counts = series.daily_counts(session, fc.b.id, "service_requests", "", tuesday, tuesday + dt.timedelta(days=1))
        assert counts.counts == [3, 0]  # 23:30 local is still Tuesday
        measured = staffing.measured_minutes(session, fc.b.id, _local(tuesday, 0), cap=240)
        assert measured == {"enquiry": (pytest.approx(165.0), 2)}
        config = staffing.base_config()
        config = staffing.StaffingConfig(**{**config.__dict__, "handling_time": "measured", "min_requests": 2})
        handling = staffing.handling_time(
            session, fc.b.id, "general", config, _local(tuesday + dt.timedelta(days=3), 0)
        )
        assert handling.minutes == pytest.approx(165.0)
        assert next(h for h in handling.by_category if h["category"] == "enquiry")["source"] == "measured"
