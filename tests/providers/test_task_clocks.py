"""Provider task clocks (issue 21): the sweep reminds the provider and tells the handler at yellow (the kind's
share of the level), escalates to the handler and the unit's supervisors when the deadline passes and marks the
task late and not standard for good; each level once. A report before the deadline stops the clock met; an
hours level counts elapsed hours."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from claimwatch.notify.models import OutboxMessage, StaffNotification
from claimwatch.providers import clocks, jobs, task_service
from claimwatch.providers.models import ProviderTask, ProviderTaskClock, ProviderTaskEvent
from tests.providers.task_world import MONDAY, TaskWorld, task_world_fixture  # noqa: F401 - the module's world


def _send(tw: TaskWorld, kind: str = "appraisal") -> tuple[str, dt.datetime, dt.datetime]:
    with tw.session() as session:
        task = task_service.send_task(
            session, tw.principal(), claim_number="C1", provider_code="APP-1", kind=kind, at=MONDAY
        )
        clock = clocks.clock_of(session, task)
        assert clock is not None and clock.yellow_due_at is not None
        return task.number, clock.yellow_due_at, task.due_at


def _task(tw: TaskWorld, number: str) -> tuple[ProviderTask, ProviderTaskClock, list[str]]:
    with tw.session() as session:
        task = task_service.get_task(session, number)
        clock = clocks.clock_of(session, task)
        assert clock is not None
        actions = session.execute(
            select(ProviderTaskEvent.action).where(ProviderTaskEvent.task_id == task.id).order_by(ProviderTaskEvent.id)
        ).scalars()
        session.expunge_all()
        return task, clock, list(actions)


def test_yellow_reminds_red_escalates_once_and_the_task_is_late_for_good(task_world: TaskWorld):
    tw = task_world
    number, yellow_at, due_at = _send(tw)
    answered, _, _ = _send(tw)
    with tw.session() as session:  # answered the next day: its clock stops met, the sweep leaves it alone
        task = task_service.get_task(session, answered)
        task.status, task.reported_at = "reported", MONDAY + dt.timedelta(days=1)
        assert task_service.finish_clock(session, task, task.reported_at) is True
    assert MONDAY < yellow_at < due_at
    assert jobs.run_task_clocks(yellow_at - dt.timedelta(minutes=1)).yellow == 0
    first = jobs.run_task_clocks(yellow_at + dt.timedelta(minutes=1))
    assert (first.yellow, first.red) == (1, 0)
    assert jobs.run_task_clocks(yellow_at + dt.timedelta(minutes=2)).checked == 0  # once per level
    task, clock, actions = _task(tw, number)
    assert actions == ["sent", "reminded"] and task.reminded_at is not None and clock.escalated == 1
    assert clocks.light(clock, yellow_at + dt.timedelta(minutes=1)) == "yellow"
    late = jobs.run_task_clocks(due_at + dt.timedelta(minutes=1))
    assert (late.yellow, late.red) == (0, 1)
    assert jobs.run_task_clocks(due_at + dt.timedelta(days=3)).checked == 0
    task, clock, actions = _task(tw, number)
    assert actions == ["sent", "reminded", "escalated"]
    assert (task.on_time, task.standard) == (False, False) and "late" in task.standard_reasons
    assert clock.next_check_at is None and clocks.light(clock, due_at) == "red"
    with tw.session() as session:
        notices = {
            n.dedupe_key: n
            for n in session.execute(
                select(StaffNotification).where(StaffNotification.dedupe_key.like(f"provider_task:{task.id}:%"))
            ).scalars()
        }
        assert set(notices) == {
            f"provider_task:{task.id}:yellow:handler",
            f"provider_task:{task.id}:red:handler",
            f"provider_task:{task.id}:red:supervisor",
        }
        assert notices[f"provider_task:{task.id}:red:handler"].user_id == tw.users["adj"]
        mails = session.execute(
            select(OutboxMessage.about_status).where(OutboxMessage.reference == number).order_by(OutboxMessage.id)
        ).scalars()
        assert list(mails) == ["sent", "reminder", "overdue"]
        # A report after the deadline stays late; the clock records by how much.
        late_task = task_service.get_task(session, number)
        assert task_service.finish_clock(session, late_task, due_at + dt.timedelta(days=1)) is False
        stopped = clocks.clock_of(session, late_task)
        assert stopped is not None and stopped.outcome == "breached" and (stopped.missed_by or 0) > 0
    kept, kept_clock, kept_actions = _task(tw, answered)
    assert kept.on_time is True and kept_clock.outcome == "met" and kept_actions == ["sent"]


def test_an_hours_level_counts_elapsed_hours(task_world: TaskWorld):
    number, yellow_at, due_at = _send(task_world, kind="survey")  # the kind's default: 24 hours
    assert due_at == MONDAY + dt.timedelta(hours=24)
    assert yellow_at == MONDAY + dt.timedelta(hours=24 * 0.7)
    task, clock, _ = _task(task_world, number)
    assert (task.level_days, task.level_unit, task.contract_id) == (24, "hours", None)
    view = clocks.clock_view(clock, MONDAY + dt.timedelta(hours=30))
    assert view is not None and view["light"] == "red" and view["due_at"] == due_at
    with task_world.session() as session:  # a calendar edit that moves nothing leaves the deadlines alone
        assert clocks.recompute_open_clocks(session, [task_world.tenant.id]) == 0
