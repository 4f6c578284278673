"""Catastrophe events (大灾): declared by an admin, they put the matching claims in a green channel.

A claim joins an event when its region is one of the event's, its line is one of the event's lines (none
listed: every line) and its accident date falls in the event's period; the claim then carries the event's id
(``claims.catastrophe_id``), the green route and priority 3. The event itself never lists its claims.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now

KINDS = ("typhoon", "flood", "earthquake", "other")


class Catastrophe(TenantScoped, Base):
    """One declared event. ``ends_on`` None: still going on (claims keep joining). Dates are local
    (the insurer's zone), both inclusive."""

    __tablename__ = "catastrophes"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every line of business
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    declared_by: Mapped[str] = mapped_column(String(100))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name_zh

    def covers(self, line: str, region_code: str | None, day: dt.date | None) -> bool:
        """Whether a claim of ``line`` in ``region_code`` with its accident on ``day`` belongs to the event."""
        if region_code is None or day is None or region_code not in (self.region_codes or []):
            return False
        if self.lines and line not in self.lines:
            return False
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)
