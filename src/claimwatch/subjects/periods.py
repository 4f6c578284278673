"""Population periods of inspection plans: a month (``2026-11``) or a quarter (``2026-Q4``), in the tenant's
local time, as a half-open UTC range. Shared by every subject kind, so "last month" means the same instants
for claims and complaints."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from claimwatch.errors import Invalid

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
SCHEDULES = ("none", "monthly", "quarterly")


def period_dates(text: str, field: str = "population.period") -> tuple[dt.date, dt.date]:
    """The first day of the period and the first day after it (local dates)."""
    value = str(text).strip()
    month = _MONTH.match(value)
    quarter = _QUARTER.match(value)
    if month:
        year, first_month = int(month.group(1)), int(month.group(2))
        if not 1 <= first_month <= 12:
            raise Invalid(field, f"{value!r} is not a month (YYYY-MM)")
        months = 1
    elif quarter:
        year, first_month, months = int(quarter.group(1)), 3 * int(quarter.group(2)) - 2, 3
    else:
        raise Invalid(field, f"{value!r} is not a period: give a month (2026-11) or a quarter (2026-Q4)")
    if not 2000 <= year <= 2100:
        raise Invalid(field, f"{value!r}: the year must be between 2000 and 2100")
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = dt.date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return start, end


def period_bounds(text: str, zone: ZoneInfo, field: str = "population.period") -> tuple[dt.datetime, dt.datetime]:
    """The period as UTC instants ``[start, end)`` (local midnight in ``zone``)."""
    start, end = period_dates(text, field)
    return (
        dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC),
        dt.datetime.combine(end, dt.time(), zone).astimezone(dt.UTC),
    )


def previous_period(schedule: str, now: dt.datetime, zone: ZoneInfo) -> str:
    """The last complete month or quarter before ``now`` (local): what a periodic plan draws from."""
    today = now.astimezone(zone).date()
    if schedule == "monthly":
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return f"{year:04d}-{month:02d}"
    if schedule == "quarterly":
        quarter = (today.month - 1) // 3  # the current quarter's index 0..3: the previous one is `quarter`
        return f"{today.year:04d}-Q{quarter}" if quarter else f"{today.year - 1:04d}-Q4"
    raise Invalid("schedule", f"{schedule!r} is not a periodic schedule (monthly, quarterly)")
