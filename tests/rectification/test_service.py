"""The rectification life cycle on the SLA engine: states, clocks and their outcomes, who may do what, the
audit chain, idempotent opening, bad input, and the sweep's warnings and reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.principal import AccessDenied
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.notify.models import StaffNotification
from claimwatch.rectification import jobs, loader, work
from claimwatch.rectification.models import Rectification
from tests.rectification.helpers import Office, end_of_local_day, local


def test_life_cycle_clocks_outcomes_and_audit(office: Office) -> None:
    rid = office.open(at=local(2026, 8, 3, 10))
    again = office.open(at=local(2026, 8, 4, 10), title="另一个标题")
    assert again == rid  # idempotent per source: the first is returned unchanged
    opened = office.get(rid)
    assert opened.number == "ZG-2026-000001" and opened.status == "open"
    # 30 calendar days, the day of opening not counted: the plan is due at the end of 2 September.
    assert opened.plan_due_at == end_of_local_day(2026, 9, 2)
    assert opened.acceptance_due_at is not None and opened.acceptance_due_at > end_of_local_day(2026, 10, 1)

    # Wrong-state transitions are 409s naming the state; nothing is written.
    with pytest.raises(Conflict) as refused:
        office.act("qm", rid, "accept")
    assert refused.value.field == "status" and "is open" in refused.value.message

    office.act("owner", rid, "plan", "1. 重新培训 2. 拒赔通知书模板加入理由", at=local(2026, 8, 20, 9))
    office.act("supervisor", rid, "progress", "已完成培训", at=local(2026, 9, 1, 9))
    office.act("owner", rid, "submit", "整改完成", at=local(2026, 9, 10, 9))
    office.act("qm", rid, "send-back", "缺少培训签到表", at=local(2026, 9, 15, 9))
    office.act("owner", rid, "progress", "补充签到表", at=local(2026, 9, 20, 9))
    office.act("owner", rid, "submit", "再次提交", at=local(2026, 9, 21, 9))
    office.act("qm", rid, "accept", None, at=local(2026, 9, 25, 9))
    office.act("qm", rid, "close", None, at=local(2026, 9, 26, 9))

    done = office.get(rid)
    assert done.status == "closed" and done.sent_back_count == 1
    assert (done.plan_outcome, done.acceptance_outcome) == ("met", "met")
    assert done.plan_submitted_at == local(2026, 8, 20, 9) and done.accepted_at == local(2026, 9, 25, 9)
    clocks = office.clocks(rid)
    assert {c.state for c in clocks.values()} == {"stopped"}
    kinds = [e.kind for e in office.events(rid)]
    assert kinds == ["opened", "plan", "progress", "submit", "send-back", "progress", "submit", "accept", "close"]
    with office.session() as session:
        audited = [
            e.kind
            for e in session.execute(
                select(AuditEntry).where(AuditEntry.subject == done.number).order_by(AuditEntry.seq)
            ).scalars()
        ]
    assert audited == [f"rectification.{kind}" for kind in kinds]


def test_late_plan_and_late_acceptance_are_breaches(office: Office) -> None:
    rid = office.open(at=local(2026, 8, 3, 10))
    office.act("owner", rid, "plan", "方案", at=local(2026, 9, 10, 9))  # due end of 2 September
    office.act("owner", rid, "progress", at=local(2026, 9, 11, 9))
    office.act("owner", rid, "submit", at=local(2026, 10, 12, 9))
    # The to-do inbox: the owner's open rectification, and the QM's "waiting for acceptance".
    owner, qm = office.principal("owner"), office.principal("qm")
    with office.session() as session:
        mine = work.my_rectifications(session, owner, "zh", local(2026, 10, 12, 10), 10, 0)
        waiting = work.awaiting_acceptance(session, qm, "en", local(2026, 10, 12, 10), 10, 0)
    assert mine.count == 1 and mine.items[0].url == f"/rectifications/{rid}" and mine.items[0].light == "red"
    assert waiting.count == 1 and "Awaiting acceptance" in waiting.items[0].detail
    office.act("qm", rid, "accept", "验收通过", at=local(2026, 11, 2, 9))  # due early October
    done = office.get(rid)
    assert (done.plan_outcome, done.acceptance_outcome) == ("breached", "breached")
    clocks = office.clocks(rid)
    assert clocks[loader.PLAN].missed_by == pytest.approx(7.5 * 86400, rel=0.1)


def test_who_may_do_what(office: Office) -> None:
    rid = office.open()
    # Another branch's adjuster neither sees nor works it; the other branch's supervisor does not see it.
    with pytest.raises(NotFound):
        office.act("other", rid, "plan", "x")
    with pytest.raises(NotFound):
        office.act("other_supervisor", rid, "plan", "x")
    # An inspector sees every rectification but works none (role); a QM accepts but is not the owner.
    with pytest.raises(AccessDenied):
        office.act("inspector", rid, "plan", "x")
    with pytest.raises(Forbidden) as not_owner:
        office.act("qm", rid, "plan", "x")
    assert not_owner.value.field == "owner"
    # The plan is required; the owner's unit supervisor may submit it.
    with pytest.raises(Invalid) as empty:
        office.act("owner", rid, "plan", "  ")
    assert empty.value.field == "plan"
    with pytest.raises(Invalid) as future:
        office.act("owner", rid, "plan", "x", at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert future.value.field == "at"
    office.act("supervisor", rid, "plan", "方案")
    assert office.get(rid).status == "plan_submitted"


BAD_OPENINGS: list[tuple[dict[str, Any], str]] = [
    ({"severity": "huge"}, "severity"),
    ({"owner_user_id": 999999}, "owner_user_id"),
    ({"owner_user_id": None, "owner_org_unit_id": None}, "owner_org_unit_id"),
    ({"source_url": "https://evil.example/x"}, "source_url"),
    ({"source_kind": "Not A Code"}, "source_kind"),
    ({"title": ""}, "title"),
]


def test_bad_input_names_the_field_and_writes_nothing(office: Office) -> None:
    for change, field in BAD_OPENINGS:
        with pytest.raises(Invalid) as refused:
            office.open(source_id=7, **change)
        assert refused.value.field == field, change
    with office.session() as session:
        assert session.execute(select(Rectification)).first() is None


def test_sweep_warns_once_per_level_and_reminds_weekly(office: Office) -> None:
    late = office.open(source_id=1, at=local(2026, 8, 3, 10))
    on_time = office.open(source_id=2, at=local(2026, 8, 3, 10))
    office.act("owner", on_time, "plan", "方案", at=local(2026, 8, 10, 9))

    first = jobs.sweep(now=local(2026, 9, 4, 9))  # plan due end of 2 September: yellow
    assert (first.yellow, first.red) == (1, 0)
    second = jobs.sweep(now=local(2026, 9, 11, 9))  # red threshold (37 days) passed; a week since the warning
    assert (second.yellow, second.red, second.reminders) == (0, 1, 1)
    assert jobs.sweep(now=local(2026, 9, 11, 10)).red == 0  # never twice
    with office.session() as session:
        notices = list(session.execute(select(StaffNotification).order_by(StaffNotification.id)).scalars())
    by_kind = {(n.kind, n.recipient_role, n.user_id) for n in notices}
    owner = office.users["owner"]
    assert ("rectification_overdue", "adjuster", owner) in by_kind
    assert ("rectification_overdue_red", "supervisor", None) in by_kind
    assert ("rectification_overdue_red", "quality_manager", None) in by_kind
    assert ("rectification_reminder", "adjuster", owner) in by_kind
    assert all(n.link == f"/rectifications/{late}" for n in notices if n.kind.startswith("rectification_overdue"))
    kinds = [e.kind for e in office.events(late)]
    assert kinds.count("overdue") == 2 and kinds.count("reminder") == 1
    assert "overdue" not in [e.kind for e in office.events(on_time)]
    # The step done late is no longer warned about once its clock stopped.
    office.act("owner", late, "plan", "方案", at=local(2026, 9, 12, 9))
    assert office.clocks(late)[loader.PLAN].next_check_at is None
