"""The calendar in force: built-in years from ``chinese-calendar`` plus years an admin loaded.

Loading a year or changing a tenant's business hours is a configuration change: it is written into
the audit chain and announced as ``reactions.CALENDAR_CHANGED``, so that the clocks (a higher layer,
which this module does not import) recompute their open deadlines in the same transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import chinese_calendar
from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.audit import service as audit_service
from claimwatch.calendar import repository, statutory
from claimwatch.calendar.workdays import (
    Axis,
    CalendarYearMissing,
    Unit,
    WorkCalendar,
    YearArrangement,
    make_axis,
    parse_intervals,
)
from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_BUSINESS_HOURS = "09:00-12:00,13:30-17:30"

__all__ = ["CalendarYearMissing", "Unit", "WorkCalendar"]


class CalendarFileError(ConfigFileError):
    pass


def builtin_years() -> dict[int, YearArrangement]:
    years: dict[int, YearArrangement] = {}
    for day, name in chinese_calendar.holidays.items():
        years.setdefault(day.year, YearArrangement(day.year, {}, {})).holidays[day] = str(name)
    for day, name in chinese_calendar.workdays.items():
        # ``workdays`` lists only the make-up working days (调休); ordinary weekdays are implied.
        years.setdefault(day.year, YearArrangement(day.year, {}, {})).workdays[day] = str(name)
    return years


_BUILTIN = builtin_years()
_cache: dict[tuple[object, ...], WorkCalendar] = {}
# Years after the last official one (or after this year, if later) that get a provisional calendar.
PROVISIONAL_YEARS_AHEAD = 5


def with_provisional_years(official: dict[int, YearArrangement], today: dt.date) -> dict[int, YearArrangement]:
    """The official years, plus a provisional year (statutory holidays and weekends, ``calendar.statutory``)
    for every year without an official arrangement between the first official year and
    ``PROVISIONAL_YEARS_AHEAD`` years after the later of the last official year and ``today``'s.
    Beyond that a deadline is still refused."""
    years = dict(official)
    last = min(max(max(official), today.year) + PROVISIONAL_YEARS_AHEAD, statutory.LAST_YEAR)
    for year in range(min(official), last + 1):
        if year not in years:
            years[year] = statutory.provisional_year(year)
    return years


def get_calendar(session: Session) -> WorkCalendar:
    """The calendar in force; rebuilt only when the loaded years change (one tiny query otherwise)."""
    today = dt.datetime.now(dt.UTC).date()
    stamp = (repository.years_stamp(session), today.year)
    calendar = _cache.get(stamp)
    if calendar is None:
        years = dict(_BUILTIN)
        for arrangement in repository.loaded_years(session):
            years[arrangement.year] = arrangement
        calendar = WorkCalendar(with_provisional_years(years, today))
        _cache.clear()
        _cache[stamp] = calendar
    return calendar


def provisional_checker(session: Session, tenant_id: int) -> Callable[[str, dt.datetime | None], bool]:
    """For lists that show many deadlines: ``check(unit, due_at)`` tells whether a due instant was computed
    on a provisional year (show it marked 暂定). One calendar look-up for the whole list."""
    calendar = get_calendar(session)
    zone = tenancy_service.tenant_zone(session, tenant_id)

    def check(unit: str, due: dt.datetime | None) -> bool:
        if due is None or unit == Unit.HOURS.value:
            return False
        return calendar.is_provisional((due - dt.timedelta(microseconds=1)).astimezone(zone).date())

    return check


def business_hours_text(session: Session, tenant_id: int) -> str:
    row = repository.business_hours(session, tenant_id)
    return row.intervals if row is not None else DEFAULT_BUSINESS_HOURS


def axis_for(session: Session, tenant_id: int, unit: Unit) -> Axis:
    intervals = parse_intervals(business_hours_text(session, tenant_id)) if unit is Unit.BUSINESS_HOURS else []
    return make_axis(unit, get_calendar(session), tenancy_service.tenant_zone(session, tenant_id), intervals)


@dataclass(frozen=True)
class CalendarChange:
    """The payload of ``reactions.CALENDAR_CHANGED``: whose deadlines may move (``None``: every tenant's)."""

    tenant_id: int | None
    reason: str
    actor: str
    # The first day counted provisionally before the change (``WorkCalendar.provisional_from``): a deadline
    # from then on was marked 暂定, so the subscribers can log that it became exact even if it did not move.
    provisional_from: dt.date | None = None


def _announce(session: Session, change: CalendarChange) -> int:
    """Tell the subscribers; returns how many open deadlines they moved."""
    return sum(reactions.publish(reactions.CALENDAR_CHANGED, session, change.tenant_id, change))


@dataclass(frozen=True)
class BusinessHoursSet:
    intervals: str
    deadlines_moved: int


def set_business_hours(session: Session, tenant_id: int, intervals: str, actor: str) -> BusinessHoursSet:
    """Validate and store the tenant's business hours; audited; open deadlines move with them."""
    try:
        parsed = parse_intervals(intervals)
    except ValueError as exc:
        raise Invalid("intervals", str(exc)) from exc
    text = ",".join(f"{s // 3600:02d}:{s % 3600 // 60:02d}-{e // 3600:02d}:{e % 3600 // 60:02d}" for s, e in parsed)
    repository.save_business_hours(session, tenant_id, text, actor, utc_now())
    audit_service.record(session, tenant_id, "config.business_hours", str(tenant_id), actor, {"intervals": text})
    moved = _announce(session, CalendarChange(tenant_id, f"business hours set to {text}", actor))
    return BusinessHoursSet(text, moved)


# -- loading a year's arrangement --------------------------------------------------------------


@dataclass(frozen=True)
class ParsedYear:
    arrangement: YearArrangement
    source: str
    sha256: str


def parse_year_file(content: bytes, filename: str) -> ParsedYear:
    """A YAML or CSV file with one year's holidays and make-up working days; errors name the line."""
    text = content.decode("utf-8-sig")
    digest = hashlib.sha256(content).hexdigest()
    if filename.lower().endswith(".csv"):
        arrangement = _parse_csv(text, filename)
    else:
        arrangement = _parse_yaml(text, filename)
    return ParsedYear(arrangement, filename, digest)


def _add(arrangement: YearArrangement, day: dt.date, working: bool, name: str, source: str, line: int | None) -> None:
    if day.year != arrangement.year:
        raise CalendarFileError(source, line, f"{day} is not in {arrangement.year}")
    other = arrangement.holidays if working else arrangement.workdays
    if day in other:
        raise CalendarFileError(source, line, f"{day} is listed both as a holiday and as a working day")
    if working and day.weekday() < 5:
        raise CalendarFileError(source, line, f"make-up working day {day} is a weekday; only weekends can be made up")
    (arrangement.workdays if working else arrangement.holidays)[day] = name


def _date(value: object, source: str, line: int | None, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise CalendarFileError(source, line, f"{what} {value!r} is not a date (YYYY-MM-DD)") from exc


def _parse_yaml(text: str, source: str) -> YearArrangement:
    doc = load_yaml(text, source, CalendarFileError)
    if not isinstance(doc, Mapping):
        raise CalendarFileError(source, 1, "a calendar file is a mapping with year, holidays and workdays")
    for key in doc:
        if key not in {"year", "source", "holidays", "workdays"}:
            raise CalendarFileError(source, line_of(doc, key), f"unknown key {key!r}")
    if not isinstance(doc.get("year"), int):
        raise CalendarFileError(source, line_of(doc, "year"), "'year' must be a year such as 2027")
    arrangement = YearArrangement(int(doc["year"]), {}, {})
    for key, working in (("holidays", False), ("workdays", True)):
        entries = doc.get(key) or Sequence()
        if not isinstance(entries, list):
            raise CalendarFileError(source, line_of(doc, key), f"'{key}' must be a list")
        for entry in entries:
            line = line_of(entry) or line_of(entries)
            if not isinstance(entry, Mapping):
                raise CalendarFileError(source, line, f"each of '{key}' is {{date: …, name: …}} or {{from, to, name}}")
            unknown = set(entry) - {"date", "from", "to", "name"}
            if unknown:
                raise CalendarFileError(source, line, f"unknown key {sorted(unknown)[0]!r}")
            name = str(entry.get("name", ""))
            if "date" in entry:
                days = [_date(entry["date"], source, line, "date")]
            elif "from" in entry and "to" in entry:
                first = _date(entry["from"], source, line, "from")
                last = _date(entry["to"], source, line, "to")
                if last < first:
                    raise CalendarFileError(source, line, f"'to' {last} is before 'from' {first}")
                days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
            else:
                raise CalendarFileError(source, line, "give 'date', or 'from' and 'to'")
            for day in days:
                # Weekend days inside a holiday break are already days off.
                if not working and day.weekday() >= 5:
                    continue
                _add(arrangement, day, working, name, source, line)
    return arrangement


def _parse_csv(text: str, source: str) -> YearArrangement:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"date", "kind"} <= set(reader.fieldnames):
        raise CalendarFileError(source, 1, "the header must have the columns date,kind[,name]")
    rows = list(reader)
    if not rows:
        raise CalendarFileError(source, 1, "no rows")
    year: int | None = None
    arrangement: YearArrangement | None = None
    for number, row in enumerate(rows, start=2):
        day = _date(row.get("date"), source, number, "date")
        if arrangement is None:
            year = day.year
            arrangement = YearArrangement(year, {}, {})
        kind = (row.get("kind") or "").strip()
        if kind not in ("holiday", "workday"):
            raise CalendarFileError(source, number, f"kind {kind!r} must be 'holiday' or 'workday'")
        if kind == "holiday" and day.weekday() >= 5:
            continue
        _add(arrangement, day, kind == "workday", (row.get("name") or "").strip(), source, number)
    assert arrangement is not None
    return arrangement


@dataclass(frozen=True)
class YearLoaded:
    year: int
    deadlines_moved: int


def load_year(session: Session, parsed: ParsedYear, actor: str) -> YearLoaded:
    """Store a year's arrangement (replacing an earlier load), audit it in every tenant's chain, and
    have every open deadline recomputed in the same transaction."""
    arrangement = parsed.arrangement
    provisional_from = get_calendar(session).provisional_from
    repository.replace_year(session, arrangement, parsed.source, parsed.sha256, actor, utc_now())
    payload = {
        "year": arrangement.year,
        "source": parsed.source,
        "sha256": parsed.sha256,
        "holidays": sorted(d.isoformat() for d in arrangement.holidays),
        "workdays": sorted(d.isoformat() for d in arrangement.workdays),
    }
    for tenant_id in [tenant.id for tenant in tenancy_repository.all_tenants(session)]:
        audit_service.record(session, tenant_id, "config.calendar", str(arrangement.year), actor, payload)
    reason = f"calendar {arrangement.year} loaded from {parsed.source}"
    return YearLoaded(arrangement.year, _announce(session, CalendarChange(None, reason, actor, provisional_from)))


def year_summaries(session: Session) -> list[dict[str, object]]:
    """Every year the calendar knows, built-in or loaded, newest first."""
    loaded = {row.year: row for row in repository.year_rows(session)}
    calendar = get_calendar(session)
    summaries: list[dict[str, object]] = []
    for year in range(calendar.last_year, calendar.first_year - 1, -1):
        if year in calendar.missing_years:
            continue
        row = loaded.get(year)
        provisional = year in calendar.provisional_years
        first = calendar.index(dt.date(year, 1, 1))
        working = int(calendar.working[first : calendar.index(dt.date(year, 12, 31)) + 1].sum())
        summaries.append(
            {
                "year": year,
                "source": row.source if row else (statutory.BASIS if provisional else "chinese-calendar"),
                "provisional": provisional,
                "loaded_by": row.loaded_by if row else None,
                "loaded_at": row.loaded_at if row else None,
                "working_days": working,
            }
        )
    return summaries
