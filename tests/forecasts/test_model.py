"""The volume model and the staffing arithmetic without a database: the calendar regressors around the 2025
National Day (调休 Sunday, the day before, the weekday and weekend holidays, the day after), an 8-week forecast of
a synthetic weekly series with holidays (band around the forecast, the coming holiday forecast low, back-test MAPE
under the threshold measured here, the same result twice), the refusal of a short history naming ``history``, the
MAPE over days with volume only, and the staffing file validated with file and line."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pytest

from claimwatch.calendar.service import builtin_years, with_provisional_years
from claimwatch.calendar.workdays import WorkCalendar
from claimwatch.errors import Invalid
from claimwatch.forecasts import model, staffing

# Measured on this series: 18.5 %, where the Poisson noise alone gives about 14 % (10 % on working days of ~60,
# 23 % on days off of ~12); the bound leaves room for another statsmodels/numpy build.
MAPE_LIMIT = 22.0


@cache
def calendar() -> WorkCalendar:
    return WorkCalendar(with_provisional_years(builtin_years(), dt.date(2025, 1, 1)))


def _flags(day: str) -> dict[str, bool]:
    row = model.calendar_flags(calendar(), [dt.date.fromisoformat(day)])[0]
    return {name: bool(value) for name, value in zip(model.REGRESSORS, row, strict=True) if value}


def test_calendar_regressors_around_national_day_2025() -> None:
    assert _flags("2025-09-28") == {"makeup_workday": True}  # Sunday worked (调休)
    assert _flags("2025-09-30") == {"before_holiday": True}
    assert _flags("2025-10-01") == {"holiday": True}
    assert _flags("2025-10-04") == {"holiday_weekend": True}
    assert _flags("2025-10-09") == {"after_holiday": True}
    assert _flags("2025-10-15") == {}  # an ordinary Wednesday
    assert _flags("2025-10-18") == {}  # an ordinary Saturday


def synthetic(first: dt.date, days: int, seed: int = 17) -> np.ndarray:
    """~60 a working day, ~12 a day off, more after a holiday; Poisson noise."""
    cal = calendar()
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    flags = model.calendar_flags(cal, dates)
    base = np.array([60.0 if cal.is_working_day(d) else 12.0 for d in dates])
    after = flags[:, model.REGRESSORS.index("after_holiday")]
    return np.random.default_rng(seed).poisson(base * (1 + 0.6 * after)).astype(float)


def test_forecast_with_band_holidays_and_backtest() -> None:
    first = dt.date(2025, 3, 3)
    counts = synthetic(first, 203)  # to 2025-09-21: the horizon holds the National Day
    result = model.forecast(counts, first, calendar())
    assert result.first_day == dt.date(2025, 9, 22) and result.horizon_days == 56 and result.history_days == 203
    assert len(result.points) == 56 and len(result.backtest) == model.BACKTEST_DAYS
    assert all(0 <= p["lower"] <= p["forecast"] <= p["upper"] for p in result.points)
    by_day = {p["day"]: p["forecast"] for p in result.points}
    assert by_day["2025-10-02"] < 0.4 * by_day["2025-10-15"]  # a holiday Thursday is like a Sunday
    assert by_day["2025-09-28"] > 2 * by_day["2025-10-19"]  # the worked Sunday is like a weekday
    assert by_day["2025-10-09"] > by_day["2025-10-16"]  # the return after the holiday
    print(f"back-test MAPE {result.backtest_mape:.2f}% (limit {MAPE_LIMIT}%)")
    assert result.backtest_mape is not None and result.backtest_mape < MAPE_LIMIT
    assert {"holiday", "after_holiday"} <= set(result.regressors)
    again = model.forecast(counts, first, calendar())
    assert again.points == result.points and again.backtest_mape == result.backtest_mape  # deterministic


def test_short_history_is_refused_and_mape_counts_days_with_volume() -> None:
    with pytest.raises(Invalid) as refused:
        model.forecast([5.0] * (model.MIN_HISTORY_DAYS - 1), dt.date(2025, 1, 1), calendar())
    assert refused.value.field == "history" and "112" in refused.value.message
    flat = model.forecast([0.0] * model.MIN_HISTORY_DAYS, dt.date(2025, 3, 3), calendar())
    assert {p["forecast"] for p in flat.points} == {0.0} and flat.backtest_mape is None
    assert model.mape([10, 0, 20], [12, 5, 20]) == pytest.approx(10.0)  # (20 % + 0 %) / 2; the 0 day skipped
    assert model.mape([0, 0], [1, 2]) is None


GOOD = """version: "t"
utilisation: 0.8
shift_hours: 8
handling_minutes:
  default: 10
  categories: {enquiry: 6}
"""


def test_staffing_file_and_day_arithmetic() -> None:
    config = staffing.parse_config(GOOD, "staffing.yaml")
    assert config.minutes_for("enquiry") == 6 and config.minutes_for("other") == 10 and config.plan_on == "forecast"
    with pytest.raises(staffing.StaffingFileError) as bad:
        staffing.parse_config(GOOD.replace("0.8", "1.5"), "staffing.yaml")
    assert str(bad.value).startswith("staffing.yaml:2: utilisation")
    with pytest.raises(staffing.StaffingFileError) as unknown:
        staffing.parse_config(GOOD + "colour: red\n", "staffing.yaml")
    assert "unknown key 'colour'" in str(unknown.value)
    # 96 requests × 10 min / 0.8 = 20 h: 3 people of 8 h; 2 rostered (16 h) is 4 h short → peak mode
    day = staffing.day_plan(96, 10, config, (2, 16.0))
    assert (day["hours_needed"], day["staff_needed"], day["gap_hours"], day["needs_peak"]) == (20.0, 3, -4.0, True)
    assert staffing.day_plan(96, 10, config, (3, 24.0))["needs_peak"] is False
    unrostered = staffing.day_plan(5, 10, config, None)
    assert unrostered["unrostered"] and not unrostered["needs_peak"] and unrostered["gap_hours"] is None
    assert staffing.base_config().version  # the bundled file is valid
