"""A provisional calendar for a year whose 调休 arrangement is not loaded: the statutory holidays of
《全国年节及纪念日放假办法》(2025) from the lunar library, plus weekends, no swaps; beyond it, still refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from claimwatch.calendar.service import PROVISIONAL_YEARS_AHEAD, builtin_years, with_provisional_years
from claimwatch.calendar.statutory import statutory_holidays
from claimwatch.calendar.workdays import CalendarYearMissing, Unit, WorkCalendar, make_axis

TODAY = dt.date(2026, 12, 6)
CAL = WorkCalendar(with_provisional_years(builtin_years(), TODAY))
TZ = ZoneInfo("Asia/Shanghai")
D = dt.date


def test_the_lunar_holidays_agree_with_the_official_calendars_of_known_years():
    # 2025 and 2026 were published under the 2025 rules: every statutory day is a day off in them.
    for year in (2025, 2026):
        days = statutory_holidays(year)
        assert len(days) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3
        for day, name in days.items():
            assert not chinese_calendar.is_workday(day), (day, name)
    assert statutory_holidays(2026)[D(2026, 2, 16)] == "春节"  # 除夕 of the Year of the Horse


def test_spring_festival_2031_is_new_years_eve_to_the_third_day_and_mid_autumn_meets_national_day():
    days = statutory_holidays(2031)
    spring = [day for day, name in days.items() if name == "春节"]
    assert spring == [D(2031, 1, 22), D(2031, 1, 23), D(2031, 1, 24), D(2031, 1, 25)]  # 除夕 … 初三
    assert days[D(2031, 4, 5)] == "清明节"
    assert days[D(2031, 6, 24)] == "端午节"
    assert days[D(2031, 10, 1)] == "中秋节、国庆节"  # one day off, both names
    assert len(days) == 12


def test_a_provisional_year_has_the_statutory_days_off_and_no_make_up_days():
    assert CAL.provisional_years == frozenset(range(2027, 2026 + PROVISIONAL_YEARS_AHEAD + 1))
    assert CAL.provisional_from == D(2027, 1, 1)
    for day in (D(2031, 1, 22), D(2031, 1, 23), D(2031, 1, 24)):  # Wed–Fri of the Spring Festival
        assert not CAL.is_working_day(day)
        assert CAL.is_provisional(day)
    assert CAL.is_working_day(D(2031, 1, 27))  # the Monday after: no bridging days are guessed
    assert not CAL.is_working_day(D(2031, 1, 26))  # a Sunday stays a Sunday (no 调休 swap to work)
    assert CAL.is_working_day(D(2031, 1, 21))
    # Working days across it: Tue 21 → Mon 27 is the next one.
    assert CAL.add_working_days(D(2031, 1, 21), 1) == D(2031, 1, 27)
    assert not CAL.is_provisional(D(2026, 12, 31)) and CAL.is_working_day(D(2026, 12, 31))


def test_a_deadline_crossing_the_2027_spring_festival_is_computed_and_marked_provisional():
    axis = make_axis(Unit.WORKING_DAYS, CAL, TZ, [])
    start = dt.datetime(2027, 2, 3, 10, tzinfo=TZ)
    anchor = axis.anchor1(start.timestamp())
    due = axis.due(axis.value1(anchor), 3 * 86400)
    # Thu 4 Feb; 除夕 Fri 5, the weekend, 初三 Mon 8 are off; then Tue 9, Wed 10.
    assert due == dt.datetime(2027, 2, 11, tzinfo=TZ)
    assert axis.is_provisional(due)
    hours = make_axis(Unit.HOURS, CAL, TZ, [])
    assert not hours.is_provisional(due)  # elapsed hours need no calendar


def test_beyond_the_provisional_years_a_deadline_is_still_refused():
    beyond = 2026 + PROVISIONAL_YEARS_AHEAD + 1
    with pytest.raises(CalendarYearMissing) as caught:
        CAL.is_working_day(D(beyond, 3, 2))
    assert caught.value.year == beyond
    # The raw official calendar (no provisional years) refuses 2027 as before.
    with pytest.raises(CalendarYearMissing):
        WorkCalendar(builtin_years()).add_working_days(D(2026, 12, 28), 7)


def test_the_horizon_follows_today_and_loaded_years_replace_provisional_ones():
    later = with_provisional_years(builtin_years(), D(2029, 6, 1))
    assert max(later) == 2029 + PROVISIONAL_YEARS_AHEAD
    official = builtin_years()
    official[2027] = type(official[2026])(2027, {D(2027, 1, 1): "元旦"}, {D(2027, 2, 13): "春节调休"})
    calendar = WorkCalendar(with_provisional_years(official, TODAY))
    assert 2027 not in calendar.provisional_years and calendar.provisional_from == D(2028, 1, 1)
    assert calendar.is_working_day(D(2027, 2, 13))  # the loaded make-up Saturday
