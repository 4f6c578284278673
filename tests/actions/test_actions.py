"""Improvement actions (PDCA): raising from each source with its label, scope and KPI; bad input naming the
field; the phase rules and who may move what; steps and their owners; the due-date clocks' reminders and
escalation; the measured Check, standardising with pinned digests, a new cycle; the action_on_time KPI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from claimwatch.actions import clocks, jobs, phases, repository, service, sources, steps, work
from claimwatch.actions.models import ImprovementAction
from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.auth.principal import AccessDenied
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionFinding, InspectionPlan
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.kpi.models import QualityAlert
from claimwatch.notify.models import StaffNotification
from claimwatch.workflow import service as workflow_service
from tests.rectification.helpers import Office, local


@pytest.fixture
def office(world) -> Office:
    return Office.create(world)


def day(month: int, d: int) -> dt.date:
    return dt.date(2026, month, d)


def raise_(office: Office, who: str = "qm", **fields: Any) -> ImprovementAction:
    body: dict[str, Any] = {
        "source_kind": "manual",
        "title": "小额案件时效整改",
        "problem": "小额赔案结案时效下降",
        "owner_user_id": office.users["supervisor"],
        "due_on": day(11, 20),
        "scope_org_unit_id": office.b1,
        "at": local(2026, 10, 12, 10),
    }
    body.update(fields)
    with office.session() as session:
        action = service.raise_action(session, office.principal(who) if who != "system" else "system:test", **body)
        session.flush()
        session.expunge(action)
        return action


def call(office: Office, who: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    with office.session() as session:
        found = function(session, office.principal(who), *args, **kwargs)
        session.flush()
        session.expunge_all()
        return found


def get(office: Office, action_id: int) -> ImprovementAction:
    with office.session() as session:
        found = session.get(ImprovementAction, action_id)
        assert found is not None
        session.expunge(found)
        return found


def audit(office: Office, number: str) -> list[tuple[str, dict[str, Any]]]:
    with office.session() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.subject == number).order_by(AuditEntry.seq))
        return [(e.kind, json.loads(e.payload or "{}")) for e in rows.scalars()]


def finding_in_b1(office: Office) -> int:
    with office.session() as session:
        plan = InspectionPlan(
            tenant_id=office.tenant.id, code="M", name="抽检", subject_kind="claim", scorecard_code="motor_claim",
            definition="{}", created_by="t",
        )  # fmt: skip
        session.add(plan)
        session.flush()
        draw = InspectionDraw(
            tenant_id=office.tenant.id, plan_id=plan.id, period="2026-10", seed=1, population_count=1,
            sample_count=1, strata="[]", parameters="{}", drawn_by="t",
        )  # fmt: skip
        session.add(draw)
        session.flush()
        inspection = Inspection(
            tenant_id=office.tenant.id, plan_id=plan.id, draw_id=draw.id, subject_kind="claim", subject_id=1,
            stratum="", org_unit_id=office.b1, line="motor", scorecard_code="motor_claim", status="submitted",
        )  # fmt: skip
        session.add(inspection)
        session.flush()
        finding = InspectionFinding(
            tenant_id=office.tenant.id, number="F-2026-000007", inspection_id=inspection.id, severity="major",
            category="timeliness", description="超期", created_by="t",
        )  # fmt: skip
        session.add(finding)
        session.flush()
        return finding.id


def test_raise_from_each_source_with_label_scope_and_kpi(office: Office) -> None:
    with office.session() as session:
        alert = QualityAlert(
            tenant_id=office.tenant.id, kpi_code="small_timeliness", dimension="org", unit_key=str(office.b1),
            unit_label="广东分公司", period="2026-10", rate=0.6, expected=0.9, lower_limit=0.8, upper_limit=1.0,
            numerator=30, count=50,
        )  # fmt: skip
        session.add(alert)
        session.flush()
        alert_id = alert.id
    from_alert = raise_(office, source_kind="alert", source_id=alert_id, scope_org_unit_id=None)
    assert from_alert.number == "GJ-2026-0001" and from_alert.phase == "plan" and from_alert.cycle == 1
    assert from_alert.kpi_code == "small_timeliness" and from_alert.scope_org_unit_id == office.b1
    assert "广东分公司" in from_alert.source_label and from_alert.source_url == "/dashboard?period=2026-10"
    # The due date is the end of the local due day (a Friday: no roll to a working day).
    assert from_alert.due_at == (local(2026, 11, 21)).astimezone(dt.UTC)

    finding_id = finding_in_b1(office)
    from_finding = raise_(office, source_kind="finding", source_id=finding_id, scope_org_unit_id=None)
    assert from_finding.source_label.startswith("检查问题 F-2026-000007")
    assert from_finding.source_url == f"/inspections/findings/{finding_id}"
    assert (from_finding.scope_org_unit_id, from_finding.scope_line, from_finding.kpi_code) == (
        office.b1,
        "motor",
        None,
    )

    cause = raise_(office, source_kind="complaint_cause", source_ref="claims/delay")
    assert cause.source_label.startswith("投诉原因：") and cause.source_url == "/complaints?category=claims"
    survey = raise_(office, source_kind="survey", source_ref="transparency")
    assert survey.kpi_code == "transparency_score"
    kpi = raise_(office, "system", source_kind="kpi", source_ref="complaint_on_time_rate")
    assert kpi.kpi_code == "complaint_on_time_rate" and kpi.created_by == "system:test"
    # Several actions per source are allowed; the source shows them.
    again = raise_(office, source_kind="alert", source_id=alert_id, scope_org_unit_id=None)
    with office.session() as session:
        listed = sources.actions_for_source(session, office.tenant.id, "alert", source_id=alert_id)
    assert [a.id for a in listed] == [from_alert.id, again.id]
    kinds = [kind for kind, _ in audit(office, from_alert.number)]
    assert kinds == ["action.raised"]


BAD: list[tuple[dict[str, Any], str]] = [
    ({"owner_user_id": None}, "owner_user_id"),
    ({"due_on": None}, "due_on"),
    ({"due_on": day(10, 11)}, "due_on"),  # the day before it is raised
    ({"title": " "}, "title"),
    ({"source_kind": "rumour"}, "source_kind"),
    ({"source_kind": "alert"}, "source_id"),
    ({"source_kind": "survey", "source_ref": "mood"}, "source_ref"),
    ({"source_kind": "complaint_cause", "source_ref": "claims/weather"}, "source_ref"),
    ({"kpi_code": "no_such_kpi"}, "kpi_code"),
    ({"scope_org_unit_id": 999999}, "scope_org_unit_id"),
    ({"scope_line": "space"}, "scope_line"),
    ({"rca_method": "five_whys", "rca": [{"why": "为什么", "answer": "因为"}] * 6}, "rca"),
    ({"rca_method": "fishbone", "rca": {"weather": ["雨"]}}, "rca"),
    ({"rca_method": "astrology"}, "rca_method"),
    ({"steps": [{"text": "培训", "owner_user_id": 999999}]}, "steps[0].owner_user_id"),
]


def test_bad_input_names_the_field_and_writes_nothing(office: Office, world) -> None:
    for change, field in BAD:
        with pytest.raises(Invalid) as refused:
            raise_(office, **change)
        assert refused.value.field == field, change
    # Another insurer's user cannot own it; an adjuster may not raise; a supervisor only in their subtree.
    beta = world.tenant("BETA")
    world.user("beta.qm", Role.QUALITY_MANAGER, beta)
    with office.session() as session:
        foreigner = auth_repository.user_by_username(session, "beta.qm")
        assert foreigner is not None
    with pytest.raises(Invalid) as foreign:
        raise_(office, owner_user_id=foreigner.id)
    assert foreign.value.field == "owner_user_id"
    with pytest.raises(AccessDenied):
        raise_(office, "owner")
    with pytest.raises(Forbidden):
        raise_(office, "supervisor", scope_org_unit_id=office.b2)
    with office.session() as session:
        assert session.execute(select(func.count()).select_from(ImprovementAction)).scalar_one() == 0
    # The analyses that fit are stored in their normalised shape.
    bone = raise_(office, rca_method="fishbone", rca={"man": [" 新人未培训 "], "method": ["流程缺少时限提醒"]})
    assert bone.rca is not None and bone.rca["man"] == ["新人未培训"] and bone.rca["measurement"] == []
    whys = raise_(office, rca_method="five_whys", rca=[{"why": "为何超时", "answer": "材料补齐慢"}])
    assert whys.rca == {"whys": [{"why": "为何超时", "answer": "材料补齐慢"}]}


def test_phases_steps_owners_check_standardise_and_new_cycle(office: Office) -> None:
    action = raise_(office)  # owned by the B1 supervisor, no KPI, no step
    aid = action.id
    with pytest.raises(Conflict) as no_steps:
        call(office, "qm", phases.move_phase, aid, "do", at=local(2026, 10, 13, 9))
    assert no_steps.value.field == "steps"
    mine = call(office, "qm", steps.add_step, aid, {"text": "培训新人", "owner_user_id": office.users["owner"]})
    theirs = call(office, "qm", steps.add_step, aid, {"text": "上线提醒", "owner_user_id": office.users["inspector"]})
    # An adjuster owning a step may not move the action; a jump is a 409 naming the phase.
    with pytest.raises(Forbidden):
        call(office, "owner", phases.move_phase, aid, "do")
    with pytest.raises(Conflict) as jump:
        call(office, "qm", phases.move_phase, aid, "act")
    assert jump.value.field == "phase" and "plan" in jump.value.message
    with pytest.raises(Conflict):  # steps are finished in Do
        call(office, "owner", service.finish_step, mine.id)
    call(office, "qm", phases.move_phase, aid, "do", at=local(2026, 10, 14, 9))
    # The step's owner finishes their own step, not another's; someone of another branch does not see it.
    call(office, "owner", service.finish_step, mine.id, note="已培训", at=local(2026, 10, 20, 9))
    with pytest.raises(Forbidden):
        call(office, "owner", service.finish_step, theirs.id)
    with pytest.raises(NotFound):
        call(office, "other", service.finish_step, theirs.id)
    with pytest.raises(Conflict) as open_step:
        call(office, "supervisor", phases.move_phase, aid, "check")
    assert open_step.value.field == "steps"
    call(office, "inspector", service.finish_step, theirs.id, at=local(2026, 10, 21, 9))
    with pytest.raises(Invalid) as no_kpi:  # a Check with no KPI
        call(office, "supervisor", phases.move_phase, aid, "check", at=local(2026, 10, 22, 9))
    assert no_kpi.value.field == "kpi_code"
    with pytest.raises(Forbidden):  # the owner edits texts, not the KPI
        call(office, "owner", service.update_action, aid, kpi_code="small_timeliness")
    call(office, "qm", service.update_action, aid, kpi_code="small_timeliness", root_cause="新人不熟悉时限")
    call(office, "supervisor", phases.move_phase, aid, "check", at=local(2026, 10, 22, 9))
    checked = get(office, aid)
    assert checked.phase == "check" and checked.done_at == local(2026, 10, 22, 9)
    with pytest.raises(Conflict) as unchecked:
        call(office, "qm", phases.move_phase, aid, "act")
    assert unchecked.value.field == "check"

    snapshot.take_snapshot()
    with pytest.raises(NotFound):  # the other branch's supervisor does not see B1's actions
        call(office, "other_supervisor", phases.run_check, aid)
    with pytest.raises(AccessDenied):  # the owner of a step does not run the Check
        call(office, "owner", phases.run_check, aid)
    call(office, "qm", phases.run_check, aid)
    done = get(office, aid)
    assert done.check_verdict == "insufficient" and done.check_result is not None  # an empty snapshot
    assert done.check_result["verdict"] == "insufficient" and done.checked_at is not None
    call(office, "qm", phases.move_phase, aid, "act")
    refs = [
        {"kind": "workflow", "code": "motor", "version": "2026-11"},
        {"kind": "policy", "code": "时效提醒制度", "version": "v2"},
    ]
    with pytest.raises(Invalid) as unknown:
        call(office, "qm", phases.standardise, aid, [{"kind": "workflow", "code": "boats"}])
    assert unknown.value.field == "refs"
    call(office, "qm", phases.standardise, aid, refs, note="纳入流程")
    closed = get(office, aid)
    source = Path(workflow_service.registry()["motor"].source).read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert closed.phase == "closed" and closed.outcome == "standardised" and closed.completed_at is not None
    assert closed.standard_refs is not None and closed.standard_refs[0]["digest"] == digest
    trail = audit(office, closed.number)
    assert [k for k, _ in trail] == [
        "action.raised", "action.step_added", "action.step_added", "action.start", "action.step_done",
        "action.step_done", "action.updated", "action.done", "action.check_run", "action.checked",
        "action.standardised",
    ]  # fmt: skip
    assert trail[-1][1]["refs"][0]["digest"] == digest and trail[-3][1]["verdict"] == "insufficient"

    # A Check that showed no effect: a new cycle from the same source, KPI and scope; the old one closed.
    second = raise_(office, kpi_code="small_timeliness", steps=[{"text": "复盘"}])
    call(office, "qm", phases.move_phase, second.id, "do")
    call(office, "supervisor", service.finish_step, call_steps(office, second.id)[0])
    call(office, "supervisor", phases.move_phase, second.id, "check")
    following = call(
        office, "qm", phases.new_cycle, second.id, due_on=(dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date()
    )
    assert (following.cycle, following.previous_action_id, following.kpi_code) == (2, second.id, "small_timeliness")
    old = get(office, second.id)
    assert (old.phase, old.outcome) == ("closed", "new_cycle") and old.outcome_note == f"→ {following.number}"
    with pytest.raises(Invalid) as reason:
        call(office, "qm", phases.move_phase, following.id, "cancelled")
    assert reason.value.field == "note"


def call_steps(office: Office, action_id: int) -> list[int]:
    with office.session() as session:
        return [s.id for s in repository.steps(session, office.tenant.id, [action_id])]


def test_reminder_escalation_inbox_and_on_time_kpi(office: Office) -> None:
    late = raise_(
        office, owner_user_id=office.users["owner"], due_on=day(10, 23),
        steps=[{"text": "更新话术", "owner_user_id": office.users["inspector"], "due_on": day(10, 16)}],
    )  # fmt: skip
    assert jobs.sweep(now=local(2026, 10, 14, 9)).reminders == 1  # the step: 3 days before its due day ends
    first = jobs.sweep(now=local(2026, 10, 21, 9))  # the action's reminder; the step is overdue
    assert (first.reminders, first.yellow, first.red) == (1, 1, 0)
    second = jobs.sweep(now=local(2026, 10, 24, 9))  # the action is overdue; the step has been for a week: red
    assert (second.reminders, second.yellow, second.red) == (0, 1, 1)
    third = jobs.sweep(now=local(2026, 10, 31, 9))  # a week past the due day: the quality managers
    assert third.red == 1 and jobs.sweep(now=local(2026, 10, 31, 10)).checked == 0
    with office.session() as session:
        notices = {(n.kind, n.recipient_role, n.user_id) for n in session.execute(select(StaffNotification)).scalars()}
        links = {n.link for n in session.execute(select(StaffNotification)).scalars()}
    owner, inspector = office.users["owner"], office.users["inspector"]
    assert ("action_assigned", "adjuster", owner) in notices and ("action_assigned", "inspector", inspector) in notices
    assert ("action_reminder", "adjuster", owner) in notices
    assert ("action_overdue", "inspector", inspector) in notices  # the step's owner …
    assert ("action_overdue", "adjuster", owner) in notices  # … and the action's owner
    assert ("action_overdue", "supervisor", None) in notices  # the supervisors over the owner's unit
    assert ("action_escalated", "quality_manager", None) in notices
    assert links == {f"/actions/{late.id}"}
    someone, qm, elsewhere = (office.principal(n) for n in ("inspector", "qm", "other_supervisor"))
    with office.session() as session:
        inbox = work.mine(session, someone, "zh", local(2026, 10, 24, 9), 10, 0)
        overdue = work.overdue(session, qm, "en", local(2026, 10, 24, 9), 10, 0)
        hidden = work.overdue(session, elsewhere, "en", local(2026, 10, 24, 9), 10, 0)
    assert inbox.count == 1 and inbox.items[0].light == "red" and inbox.items[0].url == f"/actions/{late.id}"
    assert overdue.count == 1 and hidden.count == 0
    with office.session() as session:  # a calendar change finds nothing to move on an unchanged calendar
        assert clocks.recompute_open_clocks(session, [office.tenant.id], "test", "system:test") == 0

    # action_on_time: due in November, completed by its due date (a new cycle closes it) or overdue.
    on_time = raise_(
        office, kpi_code="small_timeliness", due_on=day(11, 20), steps=[{"text": "培训"}], at=local(2026, 11, 2, 9)
    )
    call(office, "qm", phases.move_phase, on_time.id, "do", at=local(2026, 11, 3, 9))
    call(office, "supervisor", service.finish_step, call_steps(office, on_time.id)[0], at=local(2026, 11, 5, 9))
    call(office, "supervisor", phases.move_phase, on_time.id, "check", at=local(2026, 11, 6, 9))
    call(office, "qm", phases.new_cycle, on_time.id, due_on=day(12, 30), at=local(2026, 11, 10, 9))
    raise_(office, due_on=day(11, 16), at=local(2026, 11, 2, 9))  # left open: overdue at the snapshot
    cancelled = raise_(office, due_on=day(11, 18), at=local(2026, 11, 2, 9))
    call(office, "qm", phases.move_phase, cancelled.id, "cancelled", note="并入其他措施", at=local(2026, 11, 3, 9))
    snapshot.take_snapshot(now=local(2026, 12, 1, 9))
    kpi = kpi_loader.by_code()["action_on_time"]
    with kpi_service.opened() as snap:
        values = kpi_service.values(snap, Scope(tenant_ids=(office.tenant.id,)), [Period.parse("2026-11")], kpis=[kpi])
        rows = snap.con.execute("SELECT phase, overdue FROM actions ORDER BY due_at").fetchall()
    found = values.get("action_on_time", "2026-11")
    assert found is not None
    # Due in November: the on-time one (closed by its new cycle) and the open one (overdue); the cancelled one
    # counts nowhere.
    assert (found.numerator, found.denominator) == (1, 2) and found.value == pytest.approx(50)
    assert ("cancelled", False) in rows and ("closed", False) in rows
