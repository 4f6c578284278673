"""The quality committee (品质管理委员会): one meeting per tenant and month, its agenda items and the decisions
recorded against them (the minutes).

An item points at its source by kind and key (``source_ref``: a KPI code, an alert id, a rectification,
action, complaint or sanction number; ``source_id`` its row id where it has one) and keeps the figures it
was put on the agenda with (JSON), so the minutes still say what the committee saw after the source moved
on. ``(meeting, kind, source_ref)`` is unique: regenerating the agenda adds only what is new.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class CommitteeMeeting(TenantScoped, Base):
    """A month's meeting: status draft (agenda being prepared) → held (date, chair and attendees recorded)
    → closed (every item decided; the minutes are final)."""

    __tablename__ = "committee_meetings"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    status: Mapped[str] = mapped_column(String(8), default="draft")  # draft | held | closed
    held_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    chair: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attendees: Mapped[str | None] = mapped_column(Text, nullable=True)
    kpi_period: Mapped[str | None] = mapped_column(String(8), nullable=True)  # the month the red KPIs are of
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    generated_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CommitteeItem(TenantScoped, Base):
    """One agenda item: kind red_kpi | alert | overdue_rectification | overdue_action | major_complaint |
    sanction_proposed, its source, a label and link, and the figures it was listed with."""

    __tablename__ = "committee_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "meeting_id", "kind", "source_ref"),
        Index("ix_committee_items_meeting", "tenant_id", "meeting_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("committee_meetings.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source_ref: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CommitteeDecision(TenantScoped, Base):
    """What the committee decided on an item: noted | action_raised (``action_id``: the improvement action
    raised from it) | escalated | deferred, with its text, who recorded it and when. One per item."""

    __tablename__ = "committee_decisions"
    __table_args__ = (UniqueConstraint("tenant_id", "item_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("committee_items.id"))
    decision: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
