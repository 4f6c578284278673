"""The volume model (statsmodels; no database here): a daily series forecast 8 weeks ahead with weekly seasonality
and the Chinese calendar as regressors, with an interval, and back-tested on the 8 weeks it has not seen.

The model is a regression with seasonal ARIMA errors on ``log(1 + volume)`` (so a holiday takes a share of a
day's volume, on a weekday as on a weekend), ``SARIMAX(order=(1, 0, 0), seasonal_order=(0, 1, 1, 7))``:
the weekly difference carries the weekday pattern, the AR term the short swings, and four calendar regressors
(``claimwatch.calendar``) what a weekday pattern cannot know:

- ``holiday``: a weekday off for a public holiday (法定节假日 and the days given with it): like a Sunday;
- ``holiday_weekend``: a Saturday or Sunday inside a holiday (it was a day off anyway; travel, hospitals);
- ``makeup_workday``: a weekend day made a working day (调休), which works like a weekday;
- ``before_holiday`` / ``after_holiday``: the working day before a holiday starts and the first after it ends
  (people call before they leave and pile up on the return).

A regressor that never varies in the fitted window (no holiday in it) is left out of that fit. Forecasts (the
median on the volume scale) and bounds are volumes: never below zero. The fit is maximum likelihood from
statsmodels' own start values, so the same series gives the same forecast (tests rely on it).

Back-test: fit on all but the last :data:`BACKTEST_DAYS`, forecast those days, and report the mean absolute
percentage error over the days with volume (a day with none has no percentage). A series shorter than 8 weeks of
fit plus 8 weeks of back-test is refused naming ``history``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from claimwatch.calendar.workdays import WorkCalendar
from claimwatch.errors import Invalid

HORIZON_DAYS = 56
BACKTEST_DAYS = 56
MIN_FIT_DAYS = 56
MIN_HISTORY_DAYS = MIN_FIT_DAYS + BACKTEST_DAYS
INTERVAL = 0.80  # the band shown around the forecast
ORDER = (1, 0, 0)
SEASONAL_ORDER = (0, 1, 1, 7)
REGRESSORS = ("holiday", "holiday_weekend", "makeup_workday", "before_holiday", "after_holiday")
MODEL_NAME = f"SARIMAX{ORDER}x{SEASONAL_ORDER} + calendar"


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast` gives, in the shape :class:`forecasts.models.VolumeForecast` stores."""

    model: str
    first_day: dt.date
    horizon_days: int
    history_days: int
    points: list[dict[str, Any]]  # {day, forecast, lower, upper}
    backtest: list[dict[str, Any]]  # {day, actual, forecast}
    backtest_mape: float | None
    regressors: list[str] = field(default_factory=list)


def calendar_flags(calendar: WorkCalendar, days: Sequence[dt.date]) -> np.ndarray:
    """One row per day, one column per :data:`REGRESSORS` (0/1). Raises ``CalendarYearMissing`` for a day the
    calendar does not cover."""
    if not days:
        return np.zeros((0, len(REGRESSORS)))
    first, last = days[0] - dt.timedelta(days=1), days[-1] + dt.timedelta(days=1)
    span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    working = np.array([calendar.is_working_day(day) for day in span])
    named = np.array([day in calendar.names for day in span])
    weekend = np.array([day.weekday() >= 5 for day in span])
    off = ~working & (named | ~weekend)  # a day off of a holiday (a weekday off is one even without a name)
    holiday = off & ~weekend
    holiday_weekend = off & weekend
    makeup = working & weekend
    offset = {day: i for i, day in enumerate(span)}
    rows = []
    for day in days:
        i = offset[day]
        rows.append(
            (
                holiday[i],
                holiday_weekend[i],
                makeup[i],
                working[i] and off[i + 1],
                working[i] and off[i - 1],
            )
        )
    return np.asarray(rows, dtype=float)


def _fit_and_forecast(
    train: np.ndarray, exog_train: np.ndarray, exog_ahead: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """(mean, lower, upper, regressor columns used) for ``steps`` days after ``train``."""
    if np.ptp(train) == 0:  # a flat series (all zero, say): nothing to estimate
        flat = np.full(steps, float(train[0]))
        return flat, flat.copy(), flat.copy(), []
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    from threadpoolctl import threadpool_limits

    used = [j for j in range(exog_train.shape[1]) if np.ptp(exog_train[:, j]) > 0]
    exog = exog_train[:, used] if used else None
    ahead = exog_ahead[:, used] if used else None
    # One BLAS thread: the matrices are tiny, and OpenBLAS threads spinning on a busy machine made a 0.1 s fit take
    # seconds (as risk.model_training does for its fits).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")  # convergence chatter on short or spiky series; the back-test judges it
        # the scale concentrated out of the likelihood: one parameter fewer to search, the same fit, 2-3 times faster
        model = SARIMAX(np.log1p(train), exog=exog, order=ORDER, seasonal_order=SEASONAL_ORDER, concentrate_scale=True)
        fitted = model.fit(disp=False)
        prediction = fitted.get_forecast(steps=steps, exog=ahead)
        mean = np.asarray(prediction.predicted_mean, dtype=float)
        bounds = np.asarray(prediction.conf_int(alpha=1 - INTERVAL), dtype=float)
    # back from the log scale (the median, and its band); a non-finite value (a diverged fit) falls back to the
    # series' own range rather than poisoning the plan
    top = float(np.log1p(train.max() * 10 + 10))
    mean = np.expm1(np.clip(np.nan_to_num(mean, nan=float(np.log1p(train.mean()))), 0, top))
    lower = np.expm1(np.clip(np.nan_to_num(bounds[:, 0], nan=0.0), 0, top))
    upper = np.expm1(np.clip(np.nan_to_num(bounds[:, 1], nan=top), 0, top))
    return mean, lower, upper, used


def mape(actual: Sequence[float] | np.ndarray, predicted: Sequence[float] | np.ndarray) -> float | None:
    """Mean absolute percentage error (%) over the days with volume; None when no day had any."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    mask = a > 0
    if not mask.any():
        return None
    return float(np.mean(np.abs(a[mask] - p[mask]) / a[mask]) * 100)


def _days(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(count)]


def forecast(
    counts: Sequence[float] | np.ndarray, first_day: dt.date, calendar: WorkCalendar, horizon: int = HORIZON_DAYS
) -> Forecast:
    """Forecast the ``horizon`` days after a daily series that starts on ``first_day`` (zero-filled, one value a
    day), and back-test on its last :data:`BACKTEST_DAYS`."""
    values = np.asarray(counts, dtype=float)
    if len(values) < MIN_HISTORY_DAYS:
        raise Invalid(
            "history",
            f"{len(values)} days of history: at least {MIN_HISTORY_DAYS} are needed "
            f"({MIN_FIT_DAYS // 7} weeks to fit and {BACKTEST_DAYS // 7} weeks to back-test)",
        )
    if not 1 <= horizon <= 366:
        raise Invalid("horizon", "the horizon is 1 to 366 days")
    history_days = _days(first_day, len(values))
    ahead_days = _days(first_day + dt.timedelta(days=len(values)), horizon)
    flags = calendar_flags(calendar, history_days + ahead_days)
    past, future = flags[: len(values)], flags[len(values) :]

    cut = len(values) - BACKTEST_DAYS
    held_mean, _, _, _ = _fit_and_forecast(values[:cut], past[:cut], past[cut:], BACKTEST_DAYS)
    backtest = [
        {"day": day.isoformat(), "actual": int(actual), "forecast": round(float(predicted), 2)}
        for day, actual, predicted in zip(history_days[cut:], values[cut:], held_mean, strict=True)
    ]
    error = mape(values[cut:], held_mean)

    mean, lower, upper, used = _fit_and_forecast(values, past, future, horizon)
    points = [
        {
            "day": day.isoformat(),
            "forecast": round(float(m), 2),
            "lower": round(float(lo), 2),
            "upper": round(float(hi), 2),
        }
        for day, m, lo, hi in zip(ahead_days, mean, lower, upper, strict=True)
    ]
    return Forecast(
        model=MODEL_NAME,
        first_day=ahead_days[0],
        horizon_days=horizon,
        history_days=len(values),
        points=points,
        backtest=backtest,
        backtest_mape=None if error is None else round(error, 2),
        regressors=[REGRESSORS[j] for j in used],
    )
