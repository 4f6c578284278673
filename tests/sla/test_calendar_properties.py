"""Deadlines on the Chinese working-day calendar, against a brute-force day-by-day reference."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimwatch.calendar.service import builtin_years
from claimwatch.calendar.workdays import (
    CalendarYearMissing,
    Unit,
    WorkCalendar,
    make_axis,
    parse_intervals,
)

TZ = ZoneInfo("Asia/Shanghai")
# Hypothesis takes naive bounds; ``timezones=`` makes every generated value aware.
FROM = dt.datetime(2024, 1, 1)  # noqa: DTZ001
UNTIL_2025 = dt.datetime(2025, 12, 31)  # noqa: DTZ001
UNTIL_2026 = dt.datetime(2026, 10, 31)  # noqa: DTZ001
CAL = WorkCalendar(builtin_years())
HOURS = parse_intervals("09:00-12:00,13:30-17:30")
AXES = {unit: make_axis(unit, CAL, TZ, HOURS) for unit in Unit}

days_2024_2026 = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 10, 31))
instants = st.datetimes(min_value=FROM, max_value=UNTIL_2026, timezones=st.just(dt.UTC))


def reference_add_working_days(day: dt.date, count: int) -> dt.date:
    """The obvious loop: step one day at a time, counting chinese-calendar working days after ``day``."""
    current = day
    while count > 0:
        current += dt.timedelta(days=1)
        if chinese_calendar.is_workday(current):
            count -= 1
    return current


def reference_roll(day: dt.date) -> dt.date:
    while not chinese_calendar.is_workday(day):
        day += dt.timedelta(days=1)
    return day


def end_of_local_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), TZ).astimezone(dt.UTC)


def deadline(unit: Unit, start: dt.datetime, amount: float) -> dt.datetime:
    axis = AXES[unit]
    anchor = float(axis.anchor(np.array([start.timestamp()]))[0])
    return axis.due(float(axis.value(np.array([anchor]))[0]), amount * unit.seconds_per_unit)


def test_2026_make_up_days_are_working_days_and_holidays_are_not():
    for day in (dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28)):
        assert day.weekday() >= 5
        assert CAL.is_working_day(day)
    assert not CAL.is_working_day(dt.date(2026, 10, 1))
    assert not CAL.is_working_day(dt.date(2026, 2, 17))  # 春节
    assert CAL.is_working_day(dt.date(2026, 11, 23))
    assert not CAL.is_working_day(dt.date(2026, 11, 22))


def test_a_year_without_data_is_refused_not_guessed():
    with pytest.raises(CalendarYearMissing) as caught:
        CAL.add_working_days(dt.date(2026, 12, 28), 7)
    assert caught.value.year == 2027
    assert "2027" in str(caught.value) and "calendar load" in str(caught.value)
    with pytest.raises(CalendarYearMissing):
        deadline(Unit.WORKING_DAYS, dt.datetime(2026, 12, 24, 10, tzinfo=TZ), 7)
    with pytest.raises(CalendarYearMissing):
        # 10 calendar days land on 2027-01-03: rolling needs 2027's calendar.
        deadline(Unit.CALENDAR_DAYS, dt.datetime(2026, 12, 24, 10, tzinfo=TZ), 10)
    # Elapsed hours need no calendar.
    assert deadline(Unit.HOURS, dt.datetime(2026, 12, 31, 10, tzinfo=TZ), 48) == dt.datetime(2027, 1, 2, 10, tzinfo=TZ)


@settings(max_examples=300, deadline=None)
@given(day=days_2024_2026, count=st.integers(min_value=1, max_value=30))
def test_working_days_equal_the_day_by_day_reference(day, count):
    assert CAL.add_working_days(day, count) == reference_add_working_days(day, count)
    vec = CAL.add_working_days_vec(np.array([np.datetime64(day, "D")]), count)[0]
    assert vec.astype(dt.date) == reference_add_working_days(day, count)


@settings(max_examples=300, deadline=None)
@given(start=instants, count=st.integers(min_value=1, max_value=20))
def test_working_day_deadline_is_the_end_of_the_nth_working_day_after_the_start_day(start, count):
    local_day = start.astimezone(TZ).date()
    expected = end_of_local_day(reference_add_working_days(local_day, count))
    assert deadline(Unit.WORKING_DAYS, start, count) == expected


@settings(max_examples=300, deadline=None)
@given(start=instants, count=st.integers(min_value=1, max_value=60))
def test_calendar_day_deadline_rolls_to_the_next_working_day(start, count):
    local_day = start.astimezone(TZ).date()
    last = local_day + dt.timedelta(days=count)  # the start day is not counted (Civil Code art. 201)
    due = deadline(Unit.CALENDAR_DAYS, start, count)
    assert due == end_of_local_day(reference_roll(last))
    due_day = (due.astimezone(TZ) - dt.timedelta(seconds=1)).date()
    assert chinese_calendar.is_workday(due_day)


@settings(max_examples=60, deadline=None)
@given(start=instants, hours=st.integers(min_value=1, max_value=40))
def test_business_hours_count_only_inside_intervals_on_working_days(start, hours):
    due = deadline(Unit.BUSINESS_HOURS, start, hours)
    # Brute force: walk minute slots of business time from the start.
    remaining = hours * 60
    cursor = start.astimezone(TZ).replace(second=0, microsecond=0)
    if cursor < start.astimezone(TZ):
        cursor += dt.timedelta(minutes=1)
    step = dt.timedelta(minutes=1)
    while remaining > 0:
        minute_of_day = cursor.hour * 60 + cursor.minute
        inside = any(s // 60 <= minute_of_day < e // 60 for s, e in HOURS)
        if inside and chinese_calendar.is_workday(cursor.date()):
            remaining -= 1
        cursor += step
    # The reference works on whole minutes; the start may fall inside a minute.
    assert abs((due - cursor).total_seconds()) < 60


def test_axis_value_and_instant_are_inverse():
    for unit in (Unit.WORKING_DAYS, Unit.BUSINESS_HOURS):
        axis = AXES[unit]
        values = np.linspace(1_000_000, 80_000_000, 500) if unit is Unit.WORKING_DAYS else np.linspace(1, 9e6, 500)
        back = axis.value(axis.instant(values))
        assert np.allclose(back, values, atol=1e-3)


def test_business_hours_are_validated():
    with pytest.raises(ValueError, match="overlaps"):
        parse_intervals("09:00-12:00,11:00-13:00")
    with pytest.raises(ValueError, match="ends before"):
        parse_intervals("12:00-09:00")
    with pytest.raises(ValueError, match="HH:MM"):
        parse_intervals("nine-five")


@settings(max_examples=300, deadline=None)
@given(unit=st.sampled_from(list(Unit)), start=instants, amount=st.floats(min_value=0, max_value=40 * 86400))
def test_the_one_clock_path_equals_the_vectorised_path(unit, start, amount):
    axis = AXES[unit]
    ts = start.timestamp()
    assert axis.anchor1(ts) == float(axis.anchor(np.array([ts]))[0])
    value = axis.value1(ts)
    assert value == float(axis.value(np.array([ts]))[0])
    try:
        instant = float(axis.instant(np.array([value + amount]))[0])
        vector = float(axis.finalize(np.array([instant]))[0])
    except CalendarYearMissing:
        with pytest.raises(CalendarYearMissing):
            axis.finalize1(axis.instant1(value + amount))
        return
    assert axis.instant1(value + amount) == pytest.approx(instant, abs=1e-6)
    assert axis.finalize1(axis.instant1(value + amount)) == pytest.approx(vector, abs=1e-6)
