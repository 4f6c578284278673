"""Clock arithmetic: pauses, suspensions and extensions only ever push a deadline later."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from claimwatch.calendar.service import builtin_years
from claimwatch.calendar.workdays import Unit, WorkCalendar, make_axis, parse_intervals
from claimwatch.sla import engine
from claimwatch.sla.loader import Policy

TZ = ZoneInfo("Asia/Shanghai")
# Hypothesis takes naive bounds; ``timezones=`` makes every generated value aware.
FROM = dt.datetime(2024, 1, 1)  # noqa: DTZ001
UNTIL_2025 = dt.datetime(2025, 12, 31)  # noqa: DTZ001
UNTIL_2026 = dt.datetime(2026, 10, 31)  # noqa: DTZ001
CAL = WorkCalendar(builtin_years())
AXES = {unit: make_axis(unit, CAL, TZ, parse_intervals("09:00-12:00,13:30-17:30")) for unit in Unit}
BUDGETS = {Unit.HOURS: 24, Unit.BUSINESS_HOURS: 16, Unit.CALENDAR_DAYS: 30, Unit.WORKING_DAYS: 7}


def policy(unit: Unit) -> Policy:
    budget = BUDGETS[unit]
    return Policy(
        code="p", name_zh="p", name_en="p", basis="", unit=unit, yellow=budget, red=budget * 2, extension_max=budget
    )


operation = st.tuples(
    st.sampled_from(["pause", "resume", "suspend", "end_suspension", "extend"]),
    st.integers(min_value=0, max_value=72 * 3600),  # seconds after the previous operation
    st.integers(min_value=1, max_value=5),  # extension amount
)


@settings(max_examples=400, deadline=None)
@given(
    unit=st.sampled_from(list(Unit)),
    start=st.datetimes(min_value=FROM, max_value=UNTIL_2025, timezones=st.just(TZ)),
    operations=st.lists(operation, max_size=8),
)
def test_no_sequence_of_pauses_suspensions_or_extensions_makes_a_deadline_earlier(unit, start, operations):
    axis = AXES[unit]
    rules = policy(unit)
    baseline = engine.new_clock(axis, rules, 1, 1, 1, start)
    clock = engine.new_clock(axis, rules, 1, 1, 1, start)
    assert clock.yellow_due_at == baseline.yellow_due_at
    now = start
    for kind, gap, amount in operations:
        now = now + dt.timedelta(seconds=gap)
        if kind == "pause":
            engine.pause(axis, clock, now)
        elif kind == "resume":
            engine.resume(axis, clock, now)
        elif kind == "suspend":
            engine.pause(axis, clock, now, suspension=True)
        elif kind == "end_suspension":
            engine.resume(axis, clock, now, suspension=True)
        else:
            try:
                engine.extend(axis, clock, rules, amount, now)
            except engine.ExtensionRefused:
                pass
        if clock.state == engine.RUNNING:
            assert clock.yellow_due_at is not None and baseline.yellow_due_at is not None
            assert clock.yellow_due_at >= baseline.yellow_due_at
            assert clock.red_due_at >= clock.yellow_due_at  # yellow never falls after red
    # Whatever happened, once everything is resumed the deadline is no earlier than the baseline.
    engine.resume(axis, clock, now)
    engine.resume(axis, clock, now, suspension=True)
    assert clock.state == engine.RUNNING
    assert clock.yellow_due_at >= baseline.yellow_due_at


@settings(max_examples=200, deadline=None)
@given(
    unit=st.sampled_from(list(Unit)),
    start=st.datetimes(min_value=FROM, max_value=UNTIL_2025, timezones=st.just(TZ)),
    late_by=st.integers(min_value=1, max_value=30 * 86400),
)
def test_a_breach_is_final_and_records_by_how_much(unit, start, late_by):
    axis = AXES[unit]
    clock = engine.new_clock(axis, policy(unit), 1, 1, 1, start)
    due = clock.yellow_due_at
    assert due is not None
    finished = due + dt.timedelta(seconds=late_by)
    assert engine.stop(axis, clock, finished)
    assert clock.outcome == "breached"
    assert clock.breached_at == due
    assert clock.missed_by is not None and clock.missed_by >= 0
    assert clock.missed_by == axis.value_at(finished) - axis.value_at(due)
    # Nothing undoes it: a stopped clock ignores later pauses and resumes.
    assert not engine.pause(axis, clock, finished + dt.timedelta(hours=1))
    assert not engine.resume(axis, clock, finished + dt.timedelta(hours=2))
    assert clock.outcome == "breached" and clock.breached_at == due


def test_pause_on_a_small_claim_moves_the_deadline_by_the_pause():
    axis = AXES[Unit.HOURS]
    start = dt.datetime(2026, 11, 2, 9, tzinfo=TZ)
    clock = engine.new_clock(axis, policy(Unit.HOURS), 1, 1, 1, start)
    assert clock.yellow_due_at == dt.datetime(2026, 11, 3, 9, tzinfo=TZ)
    engine.pause(axis, clock, start + dt.timedelta(hours=3))
    assert clock.state == engine.PAUSED and clock.yellow_due_at is None and clock.next_check_at is None
    # Going from one paused reason to another resets nothing.
    assert not engine.pause(axis, clock, start + dt.timedelta(hours=4))
    engine.resume(axis, clock, start + dt.timedelta(hours=30))
    assert clock.consumed == 3 * 3600
    assert clock.yellow_due_at == dt.datetime(2026, 11, 4, 12, tzinfo=TZ)
    assert clock.next_check_at == clock.yellow_due_at


def test_extension_is_bounded_and_refused_after_a_breach():
    axis = AXES[Unit.CALENDAR_DAYS]
    rules = policy(Unit.CALENDAR_DAYS)
    start = dt.datetime(2026, 3, 2, 10, tzinfo=TZ)
    clock = engine.new_clock(axis, rules, 1, 1, 1, start)
    before = clock.yellow_due_at
    engine.extend(axis, clock, rules, 10, start + dt.timedelta(days=1))
    assert clock.yellow_due_at > before
    try:
        engine.extend(axis, clock, rules, 25, start + dt.timedelta(days=2))
        raise AssertionError("an extension past the maximum was granted")
    except engine.ExtensionRefused as exc:
        assert "exceeds the limit of 30" in str(exc)
    late = clock.yellow_due_at + dt.timedelta(days=1)
    try:
        engine.extend(axis, clock, rules, 1, late)
        raise AssertionError("a breach was extended away")
    except engine.ExtensionRefused as exc:
        assert "already passed" in str(exc)
    assert clock.breached_at is not None and clock.light == engine.YELLOW
