"""Quality reports (品质管理报告) and special reports (专项报告), stored as built: one row per version.

A report is identified by its *series* — (tenant, kind, period, subject) — and a version number within
it: rebuilding the same series makes version n+1 and keeps every earlier version's files. The files (HTML
and PDF) live under ``CLAIMWATCH_DOCUMENTS_DIR/reports/``; their SHA-256 are kept here and in the audit
event ``report.built``, so a stored file that was altered is found (``service.check_file``).

``tenant_id`` is NULL for the regulator's cross-insurer edition (kind ``quality``, edition ``regulator``):
no insurer's session ever selects it (the tenant filter compares tenant_id), and only a regulator reads it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime

KINDS = ("quality", "special_alert", "special_plan", "special_action")
SPECIAL_KINDS = KINDS[1:]
EDITIONS = ("insurer", "regulator")
STATUSES = ("built", "failed")


def series_key(tenant_id: int | None, kind: str, period: str | None, subject_id: int | None) -> str:
    """The series a version belongs to: ``t12|quality|2026-11|-``; ``r`` for the regulator edition."""
    owner = "r" if tenant_id is None else f"t{tenant_id}"
    return f"{owner}|{kind}|{period or '-'}|{subject_id if subject_id is not None else '-'}"


class Report(TenantScoped, Base):
    """One built version of a report: what, for whom, which files with which SHA-256, how long each
    section took, and whether it was built or failed (``error`` then says why)."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("series", "version"),
        Index("ix_reports_tenant_kind_period", "tenant_id", "kind", "period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Nullable, unlike other tenant rows: NULL is the regulator's cross-insurer edition.
    tenant_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=True
    )
    series: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))  # quality | special_alert | special_plan | special_action
    period: Mapped[str | None] = mapped_column(String(8), nullable=True)  # 2026-11 | 2026-Q4 | None (special)
    subject_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # alert, plan or action id
    edition: Mapped[str] = mapped_column(String(16))  # insurer | regulator
    version: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(300))
    built_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    built_by: Mapped[str] = mapped_column(String(100))
    # Relative to the documents directory.
    html_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    pdf_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    html_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    html_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pdf_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    section_seconds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {section key: seconds}
    total_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # built | failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
