"""A provisional calendar for a year whose 调休 arrangement is not published yet.

The State Council publishes each year's holiday arrangement (with make-up working days, 调休) only in the
autumn before. Until an operator loads it, a deadline in that year is computed on the statutory holidays of
《全国年节及纪念日放假办法》 (2025 revision) plus weekends, without any swaps, and is marked provisional
(暂定) wherever it shows; loading the official year recomputes it and clears the mark.

Statutory days off (art. 2 of the 2025 revision), 13 days in all:

- 元旦 (New Year): 1 January;
- 春节 (Spring Festival): 4 days, New Year's Eve (除夕) to the 3rd day of the first lunar month (初三);
- 清明节: 1 day, the day of the solar term 清明;
- 劳动节: 2 days, 1 and 2 May;
- 端午节: 1 day, the 5th day of the 5th lunar month;
- 中秋节: 1 day, the 15th day of the 8th lunar month;
- 国庆节: 3 days, 1 to 3 October.

Lunar dates and the solar term come from ``lunar-python`` (6tail's maintained lunar calendar library).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from lunar_python import Lunar

from claimwatch.calendar.workdays import YearArrangement

# The lunar library covers this range reliably; outside it the year stays refused.
FIRST_YEAR, LAST_YEAR = 1901, 2099
BASIS = "全国年节及纪念日放假办法（2025年修订）"


def _solar(year: int, month: int, day: int) -> dt.date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> dt.date:
    table = Lunar.fromYmd(year, 1, 1).getJieQiTable()
    solar = table["清明"]
    day = dt.date(solar.getYear(), solar.getMonth(), solar.getDay())
    if day.year != year:  # pragma: no cover - the table of lunar year N holds 清明 of year N
        raise ValueError(f"清明 of {year} not found")
    return day


@lru_cache(maxsize=256)
def statutory_holidays(year: int) -> dict[dt.date, str]:
    """The statutory days off of ``year`` (weekends included when a holiday falls on one), by date."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"no statutory holidays computed for {year} (range {FIRST_YEAR}–{LAST_YEAR})")
    days: dict[dt.date, str] = {}

    def add(day: dt.date, name: str) -> None:
        # Two festivals may fall on one day (中秋 on 1 October in 2031): one day off, both names.
        days[day] = f"{days[day]}、{name}" if day in days and name not in days[day] else name

    add(dt.date(year, 1, 1), "元旦")
    spring = _solar(year, 1, 1)  # 正月初一 of the lunar year that begins in this Gregorian year
    for offset in range(-1, 3):  # 除夕, 初一, 初二, 初三
        add(spring + dt.timedelta(days=offset), "春节")
    add(_qingming(year), "清明节")
    add(dt.date(year, 5, 1), "劳动节")
    add(dt.date(year, 5, 2), "劳动节")
    add(_solar(year, 5, 5), "端午节")
    add(_solar(year, 8, 15), "中秋节")
    for day in (1, 2, 3):
        add(dt.date(year, 10, day), "国庆节")
    return dict(sorted(days.items()))


def provisional_year(year: int) -> YearArrangement:
    """The provisional arrangement of ``year``: statutory holidays on top of weekends, no make-up days."""
    return YearArrangement(year, statutory_holidays(year), {}, provisional=True)
