"""Service-request clocks on the SLA engine (h2): the service-level file validated with file:line, the targets per
priority and category, the first response stopping the 24-hour clock, waiting on the customer pausing, late answers
recorded by how much, cancellation voiding, reopening restarting resolution, and the worker's sweep telling the
handler at yellow and the supervisors at red, once each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import StaffNotification
from claimwatch.servicedesk import clocks, jobs
from claimwatch.servicedesk.models import ServiceRequestEvent
from tests.factories import World
from tests.servicedesk.clock_world import T0, Desk, add_request, build, by_policy
from tests.snapshots import Snapshot

H = dt.timedelta(hours=1)


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.h2", lambda: build(world))


def test_the_service_level_file_and_an_insurer_override() -> None:
    levels = clocks.default_levels()
    assert levels.response_unit == "hours" and levels.response_targets == {"normal": 24, "urgent": 8, "emergency": 2}
    assert (levels.peak_response_hours, levels.peak_priorities, levels.on_time_target) == (36, ("normal",), 0.95)
    override = clocks.parse_levels(
        "first_response:\n  unit: business_hours\n  targets: {urgent: 4}\n", "PICC.yaml", levels
    )
    assert override.response_unit == "business_hours" and override.response_targets["urgent"] == 4
    assert override.response_targets["normal"] == 24 and override.yellow_share == levels.yellow_share
    for text, line, words in (
        ("first_response:\n  targets: {vip: 1}\n", 2, "unknown priority 'vip'"),
        ("yellow_share: 0.5\nresolution:\n  unit: fortnights\n", 3, "'unit' must be one of"),
        ("peak:\n  max_days: 0\n", 2, "'max_days' must be a whole number above 0"),
        ("kpi:\n  backlog_bands: [3, 1]\n", 2, "rising list"),
        ("sla: 1\n", 1, "unknown key 'sla'"),
        ("first_response:\n  unit: working_days\n", 2, "hours or business_hours"),
    ):
        with pytest.raises(clocks.ServiceLevelsError) as error:
            clocks.parse_levels(text, "x.yaml", levels)
        assert str(error.value).startswith(f"x.yaml:{line}: ") and words in str(error.value), str(error.value)


def test_targets_pause_stop_void_reopen_and_business_hours(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        normal = add_request(session, desk.a.id, T0)
        emergency = add_request(session, desk.a.id, T0, priority="emergency", category="claim_report")
        change = add_request(session, desk.a.id, T0, priority="urgent", category="policy_change")
        late = add_request(session, desk.a.id, T0)
        cancelled = add_request(session, desk.a.id, T0)
        first = by_policy(session, normal)
        assert first[clocks.FIRST_RESPONSE].red_due_at == T0 + 24 * H
        assert first[clocks.FIRST_RESPONSE].yellow_due_at == T0 + 18 * H  # reminded at 75 %
        assert first[clocks.RESOLUTION].red_due_at == T0 + 24 * H  # enquiry: 24 h (categories.yaml)
        assert by_policy(session, emergency)[clocks.FIRST_RESPONSE].red_due_at == T0 + 2 * H
        urgent = by_policy(session, change)
        assert urgent[clocks.FIRST_RESPONSE].red_due_at == T0 + 8 * H
        resolution_due = urgent[clocks.RESOLUTION].red_due_at
        assert urgent[clocks.RESOLUTION].unit == "working_days" and resolution_due is not None  # 5 working days
        assert resolution_due.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == dt.date(2026, 3, 10)
        assert normal.peak_period_id is None

        # answered in 3 h: met; waiting on the customer 10 h moves the resolution deadline by 10 h
        answered = clocks.on_first_response(session, normal, T0 + 3 * H)
        assert answered is not None and (answered.outcome, answered.missed_by) == ("met", None)
        assert clocks.pause(session, normal, T0 + 4 * H) == [clocks.RESOLUTION]
        assert clocks.resume(session, normal, T0 + 14 * H) == [clocks.RESOLUTION]
        assert by_policy(session, normal)[clocks.RESOLUTION].red_due_at == T0 + 34 * H
        assert clocks.stop_all(session, normal, T0 + 20 * H) == [clocks.RESOLUTION]
        assert by_policy(session, normal)[clocks.RESOLUTION].outcome == "met"

        # answered after 27 h: breached by 3 h, red on the page
        clocks.on_first_response(session, late, T0 + 27 * H)
        view = {v["policy"]: v for v in clocks.views_for(session, late, T0 + 28 * H)}
        assert view["first_response"]["outcome"] == "breached" and view["first_response"]["missed_by"] == 3
        assert view["first_response"]["light"] == "red" and view["resolution"]["light"] == "red"
        assert view["resolution"]["missed_by"] == 4 and view["first_response"]["target"] == 24

        # cancelled in time: void; reopened after resolving: resolution cycle 2 from the reopening
        clocks.stop_all(session, cancelled, T0 + H, void=True)
        assert {c.outcome for c in by_policy(session, cancelled).values()} == {"void"}
        clocks.stop_all(session, emergency, T0 + H)
        again = clocks.restart_resolution(session, emergency, T0 + 30 * H)
        assert (again.cycle, again.red_due_at) == (2, T0 + 54 * H)
        assert clocks.restart_resolution(session, emergency, T0 + 31 * H).id == again.id  # running: kept

    # an insurer counting business hours (09:00-12:00, 13:30-17:30 by default, on working days)
    overrides = tmp_path / "overrides"
    (overrides / "servicedesk").mkdir(parents=True)
    (overrides / "servicedesk" / "SDA.yaml").write_text("first_response:\n  unit: business_hours\n", encoding="utf-8")
    monkeypatch.setenv("CLAIMWATCH_POLICY_OVERRIDES_DIR", str(overrides))
    get_settings.cache_clear()
    try:
        with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
            business = by_policy(session, add_request(session, desk.a.id, T0))[clocks.FIRST_RESPONSE]
            assert business.unit == "business_hours" and business.red_due_at is not None
            assert business.red_due_at > T0 + 48 * H  # 24 business hours span several working days
    finally:
        get_settings.cache_clear()


def test_the_sweep_reminds_the_handler_then_tells_the_supervisors_once(desk: Desk) -> None:
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        mine = add_request(session, desk.a.id, T0, handler_id=desk.users["sd.handler"])
        clocks.on_first_response(session, mine, T0 + H)  # only the resolution clock (24 h) runs on
        number = mine.number
    first = jobs.run_clocks(T0 + 19 * H)
    second = jobs.run_clocks(T0 + 25 * H)
    third = jobs.run_clocks(T0 + 72 * H)
    assert (first.yellow, first.red, second.yellow, second.red, third.checked) == (1, 0, 0, 1, 0)
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        notices = session.execute(
            select(StaffNotification.kind, StaffNotification.recipient_role, StaffNotification.user_id)
            .where(StaffNotification.tenant_id == desk.a.id)
            .order_by(StaffNotification.id)
        ).all()
        events = session.execute(select(ServiceRequestEvent.kind).order_by(ServiceRequestEvent.id)).scalars().all()
        link = session.execute(select(StaffNotification.link)).scalars().first()
    handler = desk.users["sd.handler"]
    assert [tuple(n) for n in notices] == [
        ("service_request_due_soon", "complaint_handler", handler),
        ("service_request_overdue", "complaint_handler", handler),
        ("service_request_overdue", "supervisor", None),
    ]
    assert events == ["due_soon", "overdue"] and link == f"/service-requests/{number}"
