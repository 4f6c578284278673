"""Volume forecasts for staffing (seed 004: resource scheduling and the emergency plan; DESIGN M19, M6 peaks):
daily service-request and claim volumes per tenant and team, forecast 8 weeks ahead with weekly seasonality and
Chinese holidays/调休 as regressors (statsmodels), back-tested on the last 8 weeks; with handling-time averages and
the roster, the staff needed per day and the days that will need peak mode."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class VolumeForecast(TenantScoped, Base):
    """One forecast run of one series: ``series`` service_requests | claims, ``team`` ("" for the whole tenant).
    ``points``: [{day, forecast, lower, upper}] for ``horizon_days`` from ``first_day``; ``backtest``: [{day,
    actual, forecast}] of the 8 weeks held out and ``backtest_mape`` (%); ``model`` names the method and its
    parameters; ``history_days`` how much history it was fitted on. The newest run per series is shown."""

    __tablename__ = "volume_forecasts"
    __table_args__ = (Index("ix_volume_forecasts_tenant_series_made", "tenant_id", "series", "team", "made_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    series: Mapped[str] = mapped_column(String(24))
    team: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(200))
    first_day: Mapped[dt.date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer)
    history_days: Mapped[int] = mapped_column(Integer)
    points: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    backtest: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    backtest_mape: Mapped[float | None] = mapped_column(Float, nullable=True)
    made_by: Mapped[str] = mapped_column(String(100))
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RosterDay(TenantScoped, Base):
    """The staff rostered for a team on a day (排班): ``staff`` people × ``hours`` each."""

    __tablename__ = "roster_days"
    __table_args__ = (UniqueConstraint("tenant_id", "team", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    staff: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float, default=8.0)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
