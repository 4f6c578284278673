from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, UTCDateTime, enum_column, utc_now


class Role(enum.StrEnum):
    ADJUSTER = "adjuster"  # 理赔员
    SUPERVISOR = "supervisor"  # 理赔主管
    COMPLAINT_HANDLER = "complaint_handler"  # 客服/投诉专员
    INSPECTOR = "inspector"  # 品质专员
    QUALITY_MANAGER = "quality_manager"  # 品质管理部
    REGULATOR = "regulator"  # 监管/协会, cross-tenant and read-only
    ADMIN = "admin"  # tenant administrator
    INTEGRATION = "integration"  # a core system pushing events with an API key


class User(Base):
    """A staff member of one tenant, or a regulator (no tenant, read-only across tenants).

    Looked up only by the auth service in the system context, hence not TenantScoped.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True, nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role, 32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ApiKey(Base):
    """A key for an integration. Only a SHA-256 of the secret is stored; ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(enum_column(Role, 32), default=Role.INTEGRATION)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
