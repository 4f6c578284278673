from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, enum_column, utc_now


class Role(enum.StrEnum):
    ADJUSTER = "adjuster"  # 理赔员
    SUPERVISOR = "supervisor"  # 理赔主管
    COMPLAINT_HANDLER = "complaint_handler"  # 客服/投诉专员
    INSPECTOR = "inspector"  # 品质专员
    QUALITY_MANAGER = "quality_manager"  # 品质管理部
    REGULATOR = "regulator"  # 监管/协会, cross-tenant, read-only on insurers' data; runs the rating
    ADMIN = "admin"  # tenant administrator
    INTEGRATION = "integration"  # a core system pushing events with an API key
    UNDERWRITER = "underwriter"  # 核保员: reviews and decides underwriting cases
    PROVIDER = "provider"  # a third party (appraisal agency, repair shop, hospital…): its own tasks only, by API key


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
    # Where staff notices are e-mailed (a work address; set by an admin: `claimwatch notify set-email`).
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)


class ApiKey(Base):
    """A key for an integration. Only a SHA-256 of the secret is stored; ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(enum_column(Role, 32), default=Role.INTEGRATION)
    # A provider's key (role ``provider``) names its provider (claimwatch.providers): it reaches that provider's
    # tasks and nothing else. No foreign key: auth sits below the providers domain.
    provider_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# Rows that grow with use (sessions, sign-in records, throttle keys) get 64-bit ids on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UserSession(Base):
    """A signed-in browser session. The signed cookie carries a random id; only its SHA-256 is kept here,
    so the table gives nobody a usable cookie. Signing out, a password change or an idle or old session
    ends it: the request after that is not signed in, whatever copy of the cookie it carries."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    address: Mapped[str] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed sign-ins of one account name or one client address within a window, and the lock they
    caused. Keyed by a keyed HMAC of the name as typed or of the address, so an unknown name is throttled
    exactly like a known one (a lock reveals nothing) and neither is stored in clear."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # account | address
    key_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True)


class LoginOutcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # wrong password, unknown or inactive account
    LOCKED = "locked"  # refused unchecked: the account name or the address is locked
    LOGOUT = "logout"


class LoginRecord(Base):
    """One sign-in attempt or sign-out: who, when, from where, and how it ended.

    ``user_id``/``tenant_id``/``username`` are set only when the name is an account's: a name that is no
    account (often a password typed in the wrong field) is not kept. Read per tenant by the access-log
    route (who may: ``Permission.VIEW_ACCESS_LOG``)."""

    __tablename__ = "login_records"
    __table_args__ = (Index("ix_login_records_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[LoginOutcome] = mapped_column(enum_column(LoginOutcome, 16))


class PermissionSuspension(TenantScoped, Base):
    """A permission group (``auth.principal.PERMISSION_GROUPS``) refused to one user from ``starts_at`` until
    ``ends_at``: written when a sanction of kind suspension is approved (claimwatch.sanctions), lifted when it
    is revoked. Read when the user's principal is resolved: the session look-up asks whether one is active
    (an EXISTS on this index) and only then loads them. ``until_date`` is the last local day, for the message."""

    __tablename__ = "permission_suspensions"
    __table_args__ = (Index("ix_permission_suspensions_tenant_user_ends", "tenant_id", "user_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    permission_group: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    until_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    sanction_ref: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
