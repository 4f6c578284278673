from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class CalendarYear(Base):
    """A year whose arrangement an admin loaded (the State Council notice of each November).

    Shared by every tenant: the national calendar is the same for all insurers. A loaded year
    replaces the built-in ``chinese-calendar`` data for that year.
    """

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    day_count: Mapped[int] = mapped_column(Integer)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CalendarDay(Base):
    """An exception to the Monday–Friday rule: a holiday on a weekday or a make-up working weekend day."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    working: Mapped[bool]
    name: Mapped[str] = mapped_column(String(100), default="")


class BusinessHours(TenantScoped, Base):
    """Intervals of a working day during which business-hour clocks run, e.g. ``09:00-12:00,13:30-17:30``."""

    __tablename__ = "business_hours"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intervals: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
