"""Tables of the KPI domain: the statistical alerts (the figures themselves live in the Parquet snapshot)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class QualityAlert(TenantScoped, Base):
    """A unit (region or org unit) out of control on a KPI rate in a month: its rate is past the
    p-chart limit around the tenant's overall rate for that month (3-sigma binomial limits for the
    unit's own volume). One row per (tenant, KPI, dimension, unit, period); re-evaluation updates the
    figures of the running month but never creates a second row."""

    __tablename__ = "quality_alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kpi_code", "dimension", "unit_key", "period"),
        Index("ix_quality_alerts_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kpi_code: Mapped[str] = mapped_column(String(48))
    dimension: Mapped[str] = mapped_column(String(16))  # region | org
    unit_key: Mapped[str] = mapped_column(String(32))  # region code or org unit id
    unit_label: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(8))  # 2026-10
    rate: Mapped[float] = mapped_column(Float)  # fractions (0..1), not percent
    expected: Mapped[float] = mapped_column(Float)
    lower_limit: Mapped[float] = mapped_column(Float)
    upper_limit: Mapped[float] = mapped_column(Float)
    numerator: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)  # the unit's denominator (volume)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
