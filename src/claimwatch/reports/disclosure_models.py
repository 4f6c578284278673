"""The public service-quality disclosure (服务质量信息披露): one row per published version of a tenant's quarter.

Publishing freezes the figures computed from the KPI snapshot (``indicators``: one entry per required
indicator, with its definition, value, or the reason it is not disclosed) and their SHA-256, which is also
in the audit event ``disclosure.published``. Re-publishing a quarter adds version n+1; the public page
shows the latest version and keeps the earlier ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime


class PublicDisclosure(TenantScoped, Base):
    __tablename__ = "public_disclosures"
    __table_args__ = (
        UniqueConstraint("tenant_id", "quarter", "version"),
        Index("ix_public_disclosures_quarter", "quarter", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(7))  # 2026-Q3
    # The quarter's first instant (local midnight in the KPI snapshot's zone, as UTC): the KPI bucket.
    quarter_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    required: Mapped[int] = mapped_column(Integer)
    present: Mapped[int] = mapped_column(Integer)
    snapshot_taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(String(100))
