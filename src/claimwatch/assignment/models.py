"""Assignment: who handles what (skills, scope, capacity, leave), the per-tenant mode and round-robin
pointers, every decision the rules took (also in monitor mode), and the load history (peaks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class HandlerProfile(TenantScoped, Base):
    """A handler's skills and reach. Empty ``lines``/``claim_types``: every one. ``authority_fen`` None:
    no amount limit (权限). Scope: the org unit's subtree and/or the region codes; neither: the whole
    tenant."""

    __tablename__ = "handler_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    claim_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    authority_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    handles_claims: Mapped[bool] = mapped_column(Boolean, default=True)
    handles_complaints: Mapped[bool] = mapped_column(Boolean, default=False)
    # Takes green-channel claims (major cases, vulnerable customers, catastrophes: the named
    # manual-assistance handler, 人工辅助); such claims go to these handlers first (0022_catastrophes).
    green_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(100))


class HandlerLeave(TenantScoped, Base):
    """A leave period (local dates, both inclusive): no new work for the handler on those days."""

    __tablename__ = "handler_leaves"
    __table_args__ = (Index("ix_handler_leaves_tenant_user", "tenant_id", "user_id", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class AssignmentSetting(TenantScoped, Base):
    """The tenant's mode (monitor | active) and the persisted round-robin pointers (last user chosen on a
    tie, per kind)."""

    __tablename__ = "assignment_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    last_claim_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_complaint_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(100))


class AssignmentDecision(TenantScoped, Base):
    """What the rules decided for one new case. ``status``: monitor (recorded only), pending (active,
    waiting to be applied as a case event), applied, unassigned (nobody eligible; supervisors told),
    skipped (the case had an assignee by the time it was applied)."""

    __tablename__ = "assignment_decisions"
    __table_args__ = (
        Index("ix_assignment_decisions_tenant_status", "tenant_id", "status"),
        Index("ix_assignment_decisions_tenant_case", "tenant_id", "kind", "case_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # claim | complaint
    case_id: Mapped[int] = mapped_column(BigInteger)
    case_number: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    rules_version: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    eligible: Mapped[int] = mapped_column(Integer, default=0)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoadSnapshot(TenantScoped, Base):
    """Load at one moment: a row per handler, and one with ``user_id`` NULL for the unassigned queue."""

    __tablename__ = "assignment_load_snapshots"
    __table_args__ = (Index("ix_assignment_load_tenant_taken", "tenant_id", "taken_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    open_claims: Mapped[int] = mapped_column(Integer, default=0)
    open_complaints: Mapped[int] = mapped_column(Integer, default=0)
    weighted_load: Mapped[float] = mapped_column(Float, default=0.0)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
