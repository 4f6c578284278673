"""The supervisor's view across insurers (DESIGN M15): the service rating (保险服务评价) by a methodology
kept as data, its runs with approval, deductions and objections (复核), and the monthly whitelist.

A rating run scores every insurer (``level`` insurer) or every insurer's provincial branch (``level``
branch: one result per tenant and region) for a quarter or a year, from the KPI snapshot. It is a draft
until a regulator approves it; only an approved run is published. An insurer sees its own results (the
breakdown, its rank band), never another insurer's detail.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, UTCDateTime, utc_now


class RatingMethodology(Base):
    """One version of a methodology (YAML ``body``, as loaded and validated). ``active``: the version new runs
    use (one per ``code``). Every version is recorded in every insurer's audit chain when it is added."""

    __tablename__ = "rating_methodologies"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100))


class RatingRun(Base):
    """``period``: "2026-Q3" or "2026"; ``level``: insurer | branch; ``status``: draft | approved | withdrawn.
    ``objections_until``: the last day an insurer may file an objection (set on approval)."""

    __tablename__ = "rating_runs"
    __table_args__ = (Index("ix_rating_runs_period", "period", "level", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    methodology_id: Mapped[int] = mapped_column(ForeignKey("rating_methodologies.id"))
    period: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    snapshot_taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    computed_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    objections_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class RatingResult(Base):
    """One insurer's (or branch's) result in a run. ``indicators``: a list of
    ``{kpi, value, basis, points, weight, contribution}``; ``deductions``: ``{id, kind, points, reason}``;
    ``rank`` among the run's ``peers`` (1 = best); ``rank_band`` what the insurer may see of it
    (e.g. "top 25 %"); ``previous_*`` the same unit's result in the previous approved run of that level."""

    __tablename__ = "rating_results"
    __table_args__ = (Index("ix_rating_results_run_tenant", "run_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rating_runs.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    grade: Mapped[str] = mapped_column(String(4))
    rank: Mapped[int] = mapped_column(Integer)
    peers: Mapped[int] = mapped_column(Integer)
    rank_band: Mapped[str] = mapped_column(String(16))
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deductions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deduction_points: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(0))
    previous_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    previous_grade: Mapped[str | None] = mapped_column(String(4), nullable=True)


class RatingDeduction(Base):
    """A deduction (扣分项) the regulator enters for an insurer and period: ``kind`` major_complaint |
    regulatory_penalty | other, with its ``reference`` (penalty decision number, complaint number).
    A withdrawn deduction no longer counts in runs computed after its withdrawal."""

    __tablename__ = "rating_deductions"
    __table_args__ = (Index("ix_rating_deductions_tenant_period", "tenant_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    period: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    points: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class RatingObjection(Base):
    """An insurer's objection (复核申请) to its published result, filed until the run's ``objections_until``;
    the regulator decides it by ``decide_by``. ``status``: open | upheld | rejected. An upheld objection
    carries the revised score and grade; the result row keeps the original, the objection the revision."""

    __tablename__ = "rating_objections"
    __table_args__ = (Index("ix_rating_objections_status", "status", "decide_by"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("rating_results.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    reason: Mapped[str] = mapped_column(Text)
    decide_by: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    revised_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    revised_grade: Mapped[str | None] = mapped_column(String(4), nullable=True)


class WhitelistStatus(Base):
    """An insurer's standing on the whitelist for one month (computed monthly by the rule in
    ``defaults/supervision/whitelist.yaml``). ``change``: entered | exited | kept | out. ``months``: the months
    that decided it, each ``{month, timeliness, timeliness_target, complaint_rate, industry_rate, ok}``;
    ``reason``: why it qualifies or not, in words."""

    __tablename__ = "whitelist_statuses"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    month: Mapped[str] = mapped_column(String(7))
    qualifies: Mapped[bool] = mapped_column(Boolean)
    change: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    months: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rule_sha256: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
