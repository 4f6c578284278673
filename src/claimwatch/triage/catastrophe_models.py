"""Catastrophe events (大灾): declared by an admin, they put the matching claims in a green channel.

A claim joins an event when its region is one of the event's, its line is one of the event's lines (none
listed: every line) and its accident date falls in the event's period; the claim then carries the event's id
(``claims.catastrophe_id``), the green route and priority 3. The event itself never lists its claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

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
        return covers(self.region_codes or (), self.lines or (), self.starts_on, self.ends_on, line, region_code, day)


def covers(
    region_codes: Sequence[str],
    lines: Sequence[str],
    starts_on: dt.date,
    ends_on: dt.date | None,
    line: str,
    region_code: str | None,
    day: dt.date | None,
) -> bool:
    """An event's match rule, shared by the table row and the cached :class:`OpenEvent`."""
    if region_code is None or day is None or region_code not in region_codes:
        return False
    if lines and line not in lines:
        return False
    return starts_on <= day and (ends_on is None or day <= ends_on)


@dataclass(frozen=True)
class OpenEvent:
    """A plain copy of a :class:`Catastrophe` row, kept per insurer between transactions by the report-time
    path (``catastrophes.cached_events``) and dropped when the insurer's events change."""

    id: int
    code: str
    name_zh: str
    region_codes: tuple[str, ...]
    lines: tuple[str, ...]
    starts_on: dt.date
    ends_on: dt.date | None

    @classmethod
    def of(cls, row: Catastrophe) -> OpenEvent:
        return cls(
            row.id,
            row.code,
            row.name_zh,
            tuple(row.region_codes or ()),
            tuple(row.lines or ()),
            row.starts_on,
            row.ends_on,
        )

    def covers(self, line: str, region_code: str | None, day: dt.date | None) -> bool:
        return covers(self.region_codes, self.lines, self.starts_on, self.ends_on, line, region_code, day)
