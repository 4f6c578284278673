"""The working-day calendar as arrays, and the time axes that SLA clocks measure on.

A day is a working day if it is Monday–Friday and not a public holiday, or if it is a make-up
working weekend day (调休). The calendar covers whole years only: asking about a year without
published data raises :class:`CalendarYearMissing` instead of guessing.

Every unit of an SLA policy is an *axis*: a non-decreasing map from an instant to the amount of
countable time since an origin (in seconds). A clock's consumed time is the axis distance over the
periods it ran, and a deadline is the instant where the axis reaches the budget. All lookups are
array indexing, so the same code runs on one clock or, vectorised, on a million.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from claimwatch.errors import Conflict

DAY = 86400


class Unit(enum.StrEnum):
    HOURS = "hours"  # elapsed time, around the clock
    BUSINESS_HOURS = "business_hours"  # only inside the tenant's business hours on working days
    CALENDAR_DAYS = "calendar_days"  # whole days; the start day is not counted; rolls to a working day
    WORKING_DAYS = "working_days"  # whole working days; the start day is not counted

    @property
    def seconds_per_unit(self) -> int:
        return 3600 if self in (Unit.HOURS, Unit.BUSINESS_HOURS) else DAY


class CalendarYearMissing(Conflict):
    """No working-day data for a year: refuse rather than guess (DESIGN §4). 409: the request is fine,
    the calendar is not ready for it yet."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            "calendar",
            f"no working-day calendar for {year}: load the State Council arrangement for {year} "
            f"(claimwatch calendar load FILE) before computing deadlines in that year",
        )


@dataclass(frozen=True)
class YearArrangement:
    """One year's exceptions to Monday–Friday: holidays on weekdays and make-up working days.

    ``provisional``: computed from the statutory holidays alone (``calendar.statutory``) because the
    year's official arrangement is not loaded yet; deadlines counted on it are marked 暂定."""

    year: int
    holidays: dict[dt.date, str]
    workdays: dict[dt.date, str]
    provisional: bool = False


class WorkCalendar:
    """Working days over a contiguous range of whole years, as numpy arrays."""

    def __init__(self, years: Mapping[int, YearArrangement]) -> None:
        if not years:
            raise ValueError("a calendar needs at least one year")
        ordered = sorted(years)
        self.first_year = ordered[0]
        self.last_year = ordered[-1]
        # Years must be contiguous: a hole would silently count weekends as the only days off.
        self.missing_years = frozenset(set(range(self.first_year, self.last_year + 1)) - set(ordered))
        self.origin = dt.date(self.first_year, 1, 1)
        self.end = dt.date(self.last_year + 1, 1, 1)
        days = (self.end - self.origin).days
        weekday_of_origin = self.origin.weekday()
        working = (np.arange(days) + weekday_of_origin) % 7 < 5
        for arrangement in years.values():
            for day in arrangement.holidays:
                working[(day - self.origin).days] = False
            for day in arrangement.workdays:
                working[(day - self.origin).days] = True
        self.known = np.ones(days, dtype=bool)
        for year in self.missing_years:
            start = (dt.date(year, 1, 1) - self.origin).days
            stop = (dt.date(year + 1, 1, 1) - self.origin).days
            self.known[start:stop] = False
            working[start:stop] = False
        self.working = working
        # cum_working[i] = working days strictly before day i; one extra slot for "end of range".
        self.cum_working = np.concatenate(([0], np.cumsum(working, dtype=np.int64)))
        self.working_days = np.flatnonzero(working).astype(np.int64)  # day indexes of working days
        self.names = {d: n for a in years.values() for d, n in (a.holidays | a.workdays).items()}
        # Years counted on the statutory holidays only (no official arrangement loaded yet).
        self.provisional_years = frozenset(year for year, a in years.items() if a.provisional)
        self.provisional_from: dt.date | None = (
            dt.date(min(self.provisional_years), 1, 1) if self.provisional_years else None
        )
        # Python lists for the one-clock paths: indexing a list is far cheaper than a 1-element array op.
        self.working_list: list[bool] = working.tolist()
        self.known_list: list[bool] = self.known.tolist()
        self.cum_working_list: list[int] = self.cum_working.tolist()
        self.working_days_list: list[int] = self.working_days.tolist()

    def check_day(self, day: int) -> None:
        """Refuse a day index outside the known years."""
        if day < 0:
            raise CalendarYearMissing(self.first_year - 1)
        if day >= len(self.working_list):
            raise CalendarYearMissing(self.last_year + 1)
        if not self.known_list[day]:
            raise CalendarYearMissing(self.day_at(day).year)

    # -- single days -------------------------------------------------------------------------
    def index(self, day: dt.date) -> int:
        i = (day - self.origin).days
        self._check(i, day.year)
        return i

    def _check(self, i: int, year: int) -> None:
        if i < 0 or i >= len(self.working) or not self.known[i]:
            raise CalendarYearMissing(year)

    def day_at(self, i: int) -> dt.date:
        return self.origin + dt.timedelta(days=int(i))

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self.working[self.index(day)])

    def is_provisional(self, day: dt.date) -> bool:
        """Whether a deadline ending on ``day`` may move when an official year is loaded: counting up to
        it crossed (or may have crossed) a year known only provisionally."""
        return self.provisional_from is not None and day >= self.provisional_from

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (the start day itself is not counted)."""
        i = self.index(day)
        k = int(self.cum_working[i + 1]) + count - 1
        if k >= len(self.working_days):
            raise CalendarYearMissing(self.last_year + 1)
        return self.day_at(int(self.working_days[k]))

    # -- vectorised ----------------------------------------------------------------------------
    def add_working_days_vec(self, days: np.ndarray, count: int | np.ndarray) -> np.ndarray:
        """Vectorised :meth:`add_working_days` over ``datetime64[D]`` values."""
        i = (days - np.datetime64(self.origin, "D")).astype(np.int64)
        if i.size and (i.min() < 0 or i.max() >= len(self.working) or not self.known[i].all()):
            bad = days[(i < 0) | (i >= len(self.working)) | ~self.known[np.clip(i, 0, len(self.known) - 1)]][0]
            raise CalendarYearMissing(int(str(bad)[:4]))
        k = self.cum_working[i + 1] + np.asarray(count) - 1
        if k.size and k.max() >= len(self.working_days):
            raise CalendarYearMissing(self.last_year + 1)
        return np.datetime64(self.origin, "D") + self.working_days[k]

    def holiday_list(self) -> np.ndarray:
        """Every non-working day of the range, for ``numpy.busday_offset`` with an all-days weekmask."""
        return np.datetime64(self.origin, "D") + np.flatnonzero(~self.working)


def parse_intervals(text: str) -> list[tuple[int, int]]:
    """``"09:00-12:00,13:30-17:30"`` → seconds from midnight; sorted, non-overlapping, non-empty."""
    intervals: list[tuple[int, int]] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            start_text, end_text = part.split("-")
            start = _seconds_of(start_text)
            end = _seconds_of(end_text)
        except ValueError as exc:
            raise ValueError(f"interval {part!r} is not HH:MM-HH:MM") from exc
        if end <= start:
            raise ValueError(f"interval {part!r} ends before it starts")
        if intervals and start < intervals[-1][1]:
            raise ValueError(f"interval {part!r} overlaps or is out of order")
        intervals.append((start, end))
    if not intervals:
        raise ValueError("business hours need at least one interval")
    return intervals


def _seconds_of(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 3600 + int(minutes) * 60
    if not 0 <= value <= DAY or int(minutes) >= 60:
        raise ValueError(text)
    return value


class Axis:
    """Countable time of one unit. ``value`` and ``instant`` are inverse; both vectorise."""

    unit: Unit

    def __init__(self, calendar: WorkCalendar, tz: ZoneInfo) -> None:
        self.calendar = calendar
        self.tz = tz
        # China has kept UTC+8 since 1991; a zone with DST would need per-day offsets here.
        offset = dt.datetime(2020, 1, 1, tzinfo=tz).utcoffset()
        assert offset is not None
        self.offset = int(offset.total_seconds())
        self.origin_ts = int(dt.datetime.combine(calendar.origin, dt.time(), tz).timestamp())

    def local_day_and_second(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        local = np.asarray(ts, dtype=np.float64) - self.origin_ts
        day = np.floor(local / DAY).astype(np.int64)
        return day, local - day * DAY

    def check_days(self, day: np.ndarray) -> None:
        cal = self.calendar
        bad = (day < 0) | (day >= len(cal.working))
        if bad.any() or not cal.known[day].all():
            first = int(day[bad][0]) if bad.any() else int(day[~cal.known[day]][0])
            year = (
                cal.first_year - 1
                if first < 0
                else (cal.last_year + 1 if first >= len(cal.working) else cal.day_at(first).year)
            )
            raise CalendarYearMissing(year)

    def value(self, ts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def instant(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def anchor(self, ts: np.ndarray) -> np.ndarray:
        """Where counting starts for a clock started at ``ts``."""
        return np.asarray(ts, dtype=np.float64)

    def finalize(self, ts: np.ndarray) -> np.ndarray:
        """A deadline as the law reads it (end of day, rolled to a working day); identity for hours."""
        return np.asarray(ts, dtype=np.float64)

    # -- one clock at a time (same results as the array methods, tested against them) -------
    def value1(self, ts: float) -> float:
        return float(self.value(np.array([ts]))[0])

    def instant1(self, value: float) -> float:
        return float(self.instant(np.array([value]))[0])

    def finalize1(self, ts: float) -> float:
        return float(self.finalize(np.array([ts]))[0])

    def anchor1(self, ts: float) -> float:
        return float(self.anchor(np.array([ts]))[0])

    def value_at(self, when: dt.datetime) -> float:
        return self.value1(when.timestamp())

    def is_provisional(self, due: dt.datetime | None) -> bool:
        """A due instant computed on a provisional year (暂定). Elapsed hours never are."""
        if due is None or self.unit is Unit.HOURS:
            return False
        # A whole-day deadline is the midnight that closes its last day: that day decides.
        last_day = (due - dt.timedelta(microseconds=1)).astimezone(self.tz).date()
        return self.calendar.is_provisional(last_day)

    def due(self, from_value: float, amount: float) -> dt.datetime:
        ts = self.finalize1(self.instant1(from_value + amount))
        return dt.datetime.fromtimestamp(round(ts, 6), dt.UTC)

    def _day_and_second1(self, ts: float) -> tuple[int, float]:
        local = ts - self.origin_ts
        day = math.floor(local / DAY)
        return day, local - day * DAY


class ElapsedAxis(Axis):
    unit = Unit.HOURS

    def value1(self, ts: float) -> float:
        return ts

    def instant1(self, value: float) -> float:
        return value

    def finalize1(self, ts: float) -> float:
        return ts

    def anchor1(self, ts: float) -> float:
        return ts

    def value(self, ts: np.ndarray) -> np.ndarray:
        return np.asarray(ts, dtype=np.float64)

    def instant(self, value: np.ndarray) -> np.ndarray:
        return np.asarray(value, dtype=np.float64)


class _WholeDayAxis(Axis):
    """Counting starts at the local midnight after the start (Civil Code art. 201) and a deadline
    is the end of a local day."""

    def anchor(self, ts: np.ndarray) -> np.ndarray:
        day, _ = self.local_day_and_second(ts)
        return (self.origin_ts + (day + 1) * DAY).astype(np.float64)

    def anchor1(self, ts: float) -> float:
        day, _ = self._day_and_second1(ts)
        return float(self.origin_ts + (day + 1) * DAY)

    def _end_of_day1(self, ts: float) -> float:
        return float(self.origin_ts + math.ceil(round(ts - self.origin_ts, 6) / DAY) * DAY)

    def _end_of_day(self, ts: np.ndarray) -> np.ndarray:
        local = np.asarray(ts, dtype=np.float64) - self.origin_ts
        return self.origin_ts + np.ceil(np.round(local, 6) / DAY) * DAY


class CalendarDayAxis(_WholeDayAxis):
    unit = Unit.CALENDAR_DAYS

    def value1(self, ts: float) -> float:
        return ts

    def instant1(self, value: float) -> float:
        return value

    def finalize1(self, ts: float) -> float:
        cal = self.calendar
        last_day = int((self._end_of_day1(ts) - self.origin_ts) // DAY) - 1
        cal.check_day(last_day)
        if not cal.working_list[last_day]:
            k = cal.cum_working_list[last_day]
            if k >= len(cal.working_days_list):
                raise CalendarYearMissing(cal.last_year + 1)
            last_day = cal.working_days_list[k]
            cal.check_day(last_day)
        return float(self.origin_ts + (last_day + 1) * DAY)

    def value(self, ts: np.ndarray) -> np.ndarray:
        return np.asarray(ts, dtype=np.float64)

    def instant(self, value: np.ndarray) -> np.ndarray:
        return np.asarray(value, dtype=np.float64)

    def finalize(self, ts: np.ndarray) -> np.ndarray:
        end = self._end_of_day(ts)
        last_day = ((end - self.origin_ts) // DAY).astype(np.int64) - 1
        self.check_days(last_day)
        cal = self.calendar
        # A deadline on a non-working day rolls to the end of the next working day (art. 203).
        k = cal.cum_working[last_day]
        if k.size and k.max() >= len(cal.working_days):
            raise CalendarYearMissing(cal.last_year + 1)
        rolled = np.where(cal.working[last_day], last_day, cal.working_days[np.minimum(k, len(cal.working_days) - 1)])
        self.check_days(rolled)
        return (self.origin_ts + (rolled + 1) * DAY).astype(np.float64)


class WorkingDayAxis(_WholeDayAxis):
    unit = Unit.WORKING_DAYS

    def value1(self, ts: float) -> float:
        day, second = self._day_and_second1(ts)
        cal = self.calendar
        cal.check_day(day)
        return cal.cum_working_list[day] * DAY + (second if cal.working_list[day] else 0.0)

    def instant1(self, value: float) -> float:
        cal = self.calendar
        whole = math.floor(round(value, 6) / DAY)
        rest = value - whole * DAY
        at_end = round(rest, 6) == 0 and whole > 0
        k = whole - 1 if at_end else whole
        if k >= len(cal.working_days_list):
            raise CalendarYearMissing(cal.last_year + 1)
        day = cal.working_days_list[k]
        cal.check_day(day)
        return float(self.origin_ts + (day + 1) * DAY) if at_end else self.origin_ts + day * DAY + rest

    def finalize1(self, ts: float) -> float:
        return self._end_of_day1(ts)

    def value(self, ts: np.ndarray) -> np.ndarray:
        day, second = self.local_day_and_second(ts)
        self.check_days(day)
        cal = self.calendar
        return cal.cum_working[day] * DAY + np.where(cal.working[day], second, 0.0)

    def instant(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        cal = self.calendar
        whole = np.floor(np.round(value, 6) / DAY).astype(np.int64)
        rest = value - whole * DAY
        # Exactly k whole days reached: the earliest such instant is the end of the k-th working day.
        at_end = (np.round(rest, 6) == 0) & (whole > 0)
        k = np.where(at_end, whole - 1, whole)
        if k.size and k.max() >= len(cal.working_days):
            raise CalendarYearMissing(cal.last_year + 1)
        day = cal.working_days[k]
        self.check_days(day)
        return np.where(at_end, self.origin_ts + (day + 1) * DAY, self.origin_ts + day * DAY + rest)

    def finalize(self, ts: np.ndarray) -> np.ndarray:
        return self._end_of_day(ts)


class BusinessHoursAxis(Axis):
    unit = Unit.BUSINESS_HOURS

    def __init__(self, calendar: WorkCalendar, tz: ZoneInfo, intervals: Iterable[tuple[int, int]]) -> None:
        super().__init__(calendar, tz)
        self.intervals = np.array(list(intervals), dtype=np.float64)
        lengths = self.intervals[:, 1] - self.intervals[:, 0]
        self.daily = float(lengths.sum())
        # Business seconds of a working day already passed at the start of each interval.
        self.before = np.concatenate(([0.0], np.cumsum(lengths)))[:-1]

    def _within_day(self, second: np.ndarray) -> np.ndarray:
        starts, ends = self.intervals[:, 0], self.intervals[:, 1]
        return np.clip(second[:, None] - starts[None, :], 0, (ends - starts)[None, :]).sum(axis=1)

    def value(self, ts: np.ndarray) -> np.ndarray:
        day, second = self.local_day_and_second(ts)
        self.check_days(day)
        cal = self.calendar
        return cal.cum_working[day] * self.daily + np.where(cal.working[day], self._within_day(second), 0.0)

    def instant(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        cal = self.calendar
        whole = np.floor(np.round(value, 6) / self.daily).astype(np.int64)
        rest = value - whole * self.daily
        at_end = (np.round(rest, 6) == 0) & (whole > 0)
        k = np.where(at_end, whole - 1, whole)
        rest = np.where(at_end, self.daily, rest)
        if k.size and k.max() >= len(cal.working_days):
            raise CalendarYearMissing(cal.last_year + 1)
        day = cal.working_days[k]
        self.check_days(day)
        # The interval in which the remaining business seconds run out (the first that reaches them).
        slot = np.searchsorted(self.before, np.round(rest, 6), side="left") - 1
        slot = np.clip(slot, 0, len(self.intervals) - 1)
        second = self.intervals[slot, 0] + (rest - self.before[slot])
        return self.origin_ts + day * DAY + second


def make_axis(unit: Unit, calendar: WorkCalendar, tz: ZoneInfo, intervals: list[tuple[int, int]]) -> Axis:
    if unit is Unit.HOURS:
        return ElapsedAxis(calendar, tz)
    if unit is Unit.CALENDAR_DAYS:
        return CalendarDayAxis(calendar, tz)
    if unit is Unit.WORKING_DAYS:
        return WorkingDayAxis(calendar, tz)
    return BusinessHoursAxis(calendar, tz, intervals)
