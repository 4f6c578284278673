"""Report periods: a month ("2026-11") or a quarter ("2026Q4" or "2026-Q4"), finished before a report of it
is built. Everything refused is an ``Invalid("period", …)`` (422 from the API, a one-line CLI error)."""

from __future__ import annotations

import datetime as dt
import re

from claimwatch.errors import Invalid
from claimwatch.kpi.engine import BadPeriod, Period

_MONTH_LIKE = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER_LIKE = re.compile(r"^(\d{4})-?[Qq](\d+)$")


class PeriodProblem(Invalid):
    """A period refused: ``code`` says why (format | month | quarter | years | unfinished), for the pages."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__("period", message)
        self.code = code


def parse(text: str) -> Period:
    """A month or quarter, whatever its end; malformed ones refused with the reason."""
    raw = (text or "").strip()
    if match := _QUARTER_LIKE.match(raw):
        if not 1 <= int(match[2]) <= 4:
            raise PeriodProblem("quarter", f"period {raw!r}: a quarter is Q1, Q2, Q3 or Q4")
        canonical = f"{match[1]}-Q{int(match[2])}"
    elif match := _MONTH_LIKE.match(raw):
        if not 1 <= int(match[2]) <= 12:
            raise PeriodProblem("month", f"period {raw!r}: a month is 01 to 12")
        canonical = f"{match[1]}-{int(match[2]):02d}"
    else:
        raise PeriodProblem("format", f"period {raw!r} must be a month (2026-11) or a quarter (2026Q4 or 2026-Q4)")
    try:
        return Period.parse(canonical)
    except BadPeriod as exc:
        raise PeriodProblem("years", exc.message) from exc


def finished(period: Period, today: dt.date) -> Period:
    """``period`` if it ended before ``today`` (local), else the refusal: a report covers whole periods."""
    if period.start > today:
        raise PeriodProblem("unfinished", f"period {period.label} is in the future (today is {today.isoformat()})")
    if period.end > today:
        raise PeriodProblem(
            "unfinished", f"period {period.label} has not ended yet: it ends on {(period.end - dt.timedelta(days=1))}"
        )
    return period


def parse_finished(text: str, today: dt.date) -> Period:
    return finished(parse(text), today)


def last_finished(today: dt.date, kind: str = "month") -> Period:
    """The latest whole month (or quarter) before ``today``."""
    return Period.containing(today, kind).shift(-1)
