"""Eligibility, least load and round-robin, leave, monitor and active modes, complaints, no-one-eligible."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from claimwatch.assignment import jobs
from claimwatch.audit import service as audit_service
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.cases.models import CaseEvent
from claimwatch.complaints.models import Complaint, ComplaintEvent
from claimwatch.notify.models import StaffNotification
from tests.assignment.helpers import Office
from tests.complaints.helpers import Desk


@pytest.fixture
def office(world) -> Office:
    return Office(world)


def test_eligibility_by_line_authority_and_region(office: Office):
    office.handler("motor.gd", lines=["motor"], authority="5000", region_codes=["440000"])
    office.handler("medical.any", lines=["medical"])
    office.handler("motor.sh", lines=["motor"], org_code="ACME-SH")
    small_gd, big_gd, medical, motor_sh = office.report(
        {"amount": "3200.00"},
        {"amount": "8000.00"},
        {"line": "medical"},
        {"amount": "100.00", "region_code": "310000", "org_code": "ACME-SH"},
    )
    decided = {d["case"]: d for d in office.decisions()}
    assert decided[small_gd]["user"] == "motor.gd"  # motor.sh is out of scope, medical.any lacks the line
    assert decided[small_gd]["refused"] == {"medical.any": "line", "motor.sh": "scope"}
    # 8 000 CNY is above motor.gd's authority (权限 5 000): nobody else may take a Guangdong motor claim.
    assert decided[big_gd]["user"] is None and decided[big_gd]["refused"]["motor.gd"] == "authority"
    assert decided[medical]["user"] == "medical.any"
    # The Shanghai unit's claim: motor.sh by subtree; motor.gd's regions do not cover 310000.
    assert decided[motor_sh]["user"] == "motor.sh" and decided[motor_sh]["refused"]["motor.gd"] == "scope"
    # Monitor mode by default: decided and recorded, nobody assigned.
    assert {d["status"] for d in decided.values()} == {"monitor"}
    assert office.assignee(small_gd) is None


def test_least_weighted_load_then_round_robin(office: Office):
    office.mode("active")
    for name in ("a.one", "a.two", "a.three"):
        office.handler(name, lines=["motor"])
    numbers = office.report(*[{"amount": "100.00"} for _ in range(6)])
    jobs.apply_pending()
    assignees = [office.assignee(n) for n in numbers]
    # Equal loads: round-robin in user order from the pointer, twice around.
    assert assignees == ["a.one", "a.two", "a.three", "a.one", "a.two", "a.three"]
    # A heavier load (a large claim weighs 2.5) is avoided until the others catch up.
    office.report({"amount": "200000.00"})
    jobs.apply_pending()
    more = office.report({"amount": "100.00"}, {"amount": "100.00"})
    jobs.apply_pending()
    assert [office.assignee(n) for n in more] == ["a.two", "a.three"]
    # The pointer is persisted: the next tie continues after a.three, with a.one heavier now.
    last = office.report({"amount": "100.00"})
    jobs.apply_pending()
    assert office.assignee(last[0]) == "a.two"


def test_leave_means_no_new_work(office: Office):
    office.mode("active")
    office.handler("on.leave", lines=["motor"])
    office.handler("at.work", lines=["motor"])
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    office.leave("on.leave", today - dt.timedelta(days=1), today + dt.timedelta(days=3))
    numbers = office.report({}, {}, {})
    jobs.apply_pending()
    assert [office.assignee(n) for n in numbers] == ["at.work"] * 3
    assert all(d["refused"]["on.leave"] == "on_leave" for d in office.decisions())


def test_active_assigns_through_a_case_event_in_the_audit_chain(office: Office):
    office.handler("a.one", lines=["motor"])
    office.mode("active")
    [number] = office.report({})
    assert office.decisions()[0]["status"] == "pending"
    assert office.assignee(number) is None  # applied right after the reporting transaction
    assert jobs.apply_pending() == 1
    assert office.assignee(number) == "a.one"
    with office.session() as session:
        event = session.scalars(select(CaseEvent).where(CaseEvent.event_type == "assigned")).one()
        assert event.actor == "system:assignment" and "2026.12-1" in (event.reason or "")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == event.audit_seq)).one()
        assert entry.kind == "case_event"
        mode = session.scalars(select(AuditEntry).where(AuditEntry.kind == "config.assignment_mode")).one()
        assert '"rules_version":"2026.12-1"' in (mode.payload or "") and '"mode":"active"' in (mode.payload or "")
        assert audit_service.verify(session, office.tenant.id).ok
    assert office.decisions()[0]["status"] == "applied"
    assert jobs.apply_pending() == 0  # nothing twice


def test_source_assignee_is_kept(office: Office):
    office.handler("a.one", lines=["motor"])
    office.mode("active")
    office.world.user("from.core", Role.ADJUSTER, office.tenant)
    [number] = office.report({})
    # The source system assigns before the pending decision is applied: its assignee stays.
    from claimwatch.auth.principal import Principal
    from claimwatch.cases import service as cases_service
    from claimwatch.cases.schemas import EventIn

    api = Principal(role=Role.INTEGRATION, tenant_id=office.tenant.id, actor="api_key:core")
    with office.session() as session:
        cases_service.ingest_events(
            session,
            api,
            [
                EventIn.model_validate(
                    {
                        "event_id": "core-asg",
                        "claim_number": number,
                        "type": "assigned",
                        "assignee": "from.core",
                        "occurred_at": "2026-11-02T10:00:00+08:00",
                    }
                )
            ],
        )
    jobs.apply_pending()
    assert office.assignee(number) == "from.core"
    assert office.decisions()[0]["status"] == "skipped"


def test_no_eligible_handler_flags_supervisors(office: Office):
    office.handler("medical.only", lines=["medical"])
    office.mode("active")
    [number] = office.report({})
    jobs.apply_pending()
    assert office.assignee(number) is None
    assert office.decisions()[0]["status"] == "unassigned"
    with office.session() as session:
        notice = session.scalars(select(StaffNotification).where(StaffNotification.kind == "unassigned")).one()
        assert notice.recipient_role == "supervisor" and number in notice.subject


def test_monitor_mode_sends_no_notice(office: Office):
    office.handler("medical.only", lines=["medical"])
    office.report({})
    with office.session() as session:
        assert session.scalars(select(StaffNotification).where(StaffNotification.kind == "unassigned")).all() == []


def test_tenant_without_profiles_is_left_alone(office: Office):
    [number] = office.report({})
    assert office.decisions() == [] and office.assignee(number) is None


def test_complaint_assignment(world, office: Office):
    office.handler("cpl.one", Role.COMPLAINT_HANDLER, handles_claims=False, handles_complaints=True)
    office.handler("cpl.two", Role.COMPLAINT_HANDLER, handles_claims=False, handles_complaints=True)
    office.mode("active")
    desk = Desk(world, office.tenant)
    from claimwatch.auth.principal import Principal

    api = Principal(role=Role.INTEGRATION, tenant_id=office.tenant.id, actor="api_key:core")
    first = desk.file(api)
    second = desk.file(api, complainant={"name": "王五", "phone": "13900002222"})
    with office.session() as session:
        rows = {c.number: c for c in session.scalars(select(Complaint)).all()}
        names = {rows[first].handler_id, rows[second].handler_id}
        assert None not in names and len(names) == 2  # one each, round-robin
        events = session.scalars(select(ComplaintEvent).where(ComplaintEvent.kind == "assigned")).all()
        assert len(events) == 2 and all(e.actor == "system:assignment" for e in events)
        assert session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "complaint.assigned").order_by(AuditEntry.seq)
        ).all()
