"""What the forecast page and the API show: the newest forecast of a series with the recent history, the back-test
(actual against forecast, with its MAPE), and for service requests the staffing plan against the roster with the
days that need peak mode; and the staffing plan as table rows for the CSV/XLSX export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.forecasts import series, service
from claimwatch.forecasts.models import VolumeForecast
from claimwatch.servicedesk import categories as servicedesk_categories
from claimwatch.web.i18n import N_, translate

HISTORY_SHOWN_DAYS = 112
SERIES_LABELS: dict[str, str] = {
    series.SERVICE_REQUESTS: N_("Service requests received"),
    series.CLAIMS: N_("Claims reported"),
}
PLAN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", N_("Day")),
    ("volume", N_("Forecast requests")),
    ("hours_needed", N_("Hours needed")),
    ("staff_needed", N_("Staff needed")),
    ("rostered_staff", N_("Staff rostered")),
    ("rostered_hours", N_("Hours rostered")),
    ("gap_hours", N_("Gap in hours")),
    ("needs_peak", N_("Needs peak mode")),
)


def forecast_out(row: VolumeForecast) -> dict[str, Any]:
    return {
        "id": row.id,
        "series": row.series,
        "team": row.team,
        "model": row.model,
        "first_day": row.first_day.isoformat(),
        "horizon_days": row.horizon_days,
        "history_days": row.history_days,
        "backtest_mape": row.backtest_mape,
        "made_by": row.made_by,
        "made_at": row.made_at,
        "points": row.points,
        "backtest": row.backtest,
    }


def team_options(session: Session, tenant_id: int, locale: str) -> list[tuple[str, str]]:
    catalogue = servicedesk_categories.for_tenant(session, tenant_id)
    return [(code, label.label(locale)) for code, label in catalogue.teams.items()]


def view(
    session: Session, tenant_id: int, series_name: str, team: str, now: dt.datetime, locale: str
) -> dict[str, Any]:
    """The page's (and ``GET /api/v1/forecasts``') content for one series and team."""
    series.check_series(series_name, team)
    forecast = service.latest(session, tenant_id, series_name, team)
    found: dict[str, Any] = {"series": series_name, "team": team, "forecast": None, "plan": None, "chart": None}
    if forecast is None:
        return found
    found["forecast"] = forecast_out(forecast)
    last = forecast.first_day - dt.timedelta(days=1)
    shown = series.daily_counts(
        session, tenant_id, series_name, team, last - dt.timedelta(days=HISTORY_SHOWN_DAYS - 1), last
    )
    chart: dict[str, Any] = {
        "history": {"days": [d.isoformat() for d in shown.days()], "values": shown.counts},
        "forecast": {
            "days": [p["day"] for p in forecast.points],
            "mean": [p["forecast"] for p in forecast.points],
            "lower": [p["lower"] for p in forecast.points],
            "upper": [p["upper"] for p in forecast.points],
        },
        "backtest": {
            "days": [p["day"] for p in forecast.backtest],
            "actual": [p["actual"] for p in forecast.backtest],
            "forecast": [p["forecast"] for p in forecast.backtest],
            "mape": forecast.backtest_mape,
        },
        "labels": {
            key: translate(locale, text)
            for key, text in (
                ("history", N_("Actual")),
                ("forecast", N_("Forecast")),
                ("band", N_("80% band")),
                ("backtest", N_("Back-test forecast")),
                ("needed", N_("Staff needed")),
                ("rostered", N_("Staff rostered")),
            )
        },
    }
    if series_name == series.SERVICE_REQUESTS:
        _, plan = service.plan_for(session, tenant_id, team, now)
        if plan is not None:
            found["plan"] = plan.as_dict()
            chart["staffing"] = {
                "days": [d["day"] for d in plan.days],
                "needed": [d["staff_needed"] for d in plan.days],
                "rostered": [d["rostered_staff"] for d in plan.days],
                "peak": [d["needs_peak"] for d in plan.days],
            }
    found["chart"] = chart
    return found


def plan_table(
    session: Session, tenant_id: int, team: str, now: dt.datetime, locale: str
) -> tuple[list[str], list[list[Any]]]:
    """The staffing plan as (header in the reader's language, rows) for the CSV and XLSX exports; only the header
    when there is no forecast yet."""
    header = [translate(locale, label) for _, label in PLAN_COLUMNS]
    _, plan = service.plan_for(session, tenant_id, team, now)
    if plan is None:
        return header, []
    yes, no = translate(locale, N_("yes")), translate(locale, N_("no"))
    rows = []
    for day in plan.days:
        rows.append([(yes if day[key] else no) if key == "needs_peak" else day[key] for key, _ in PLAN_COLUMNS])
    return header, rows
