from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, enum_column, utc_now


class OrgLevel(enum.StrEnum):
    HEAD_OFFICE = "head_office"  # 总公司
    BRANCH = "branch"  # 分公司
    SUB_BRANCH = "sub_branch"  # 支公司


class Tenant(Base):
    """An insurer. Not tenant-scoped itself: it is the scope."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Region(Base):
    """A province-level region, shared reference data (GB/T 2260 codes)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))


class OrgUnit(TenantScoped, Base):
    """总公司/分公司/支公司, a tree per tenant. ``path`` ("/1/4/9/") makes subtree queries one LIKE."""

    __tablename__ = "org_units"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[OrgLevel] = mapped_column(enum_column(OrgLevel, 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True)
    path: Mapped[str] = mapped_column(String(255), default="/")
