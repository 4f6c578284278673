from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class ClockColumns:
    """The columns the SLA engine (``claimwatch.sla.engine``) computes on, shared by every clock table:
    claim clocks here, complaint clocks in ``complaints.models``."""

    unit: Mapped[str] = mapped_column(String(16))
    yellow_budget: Mapped[float] = mapped_column(Float)
    red_budget: Mapped[float] = mapped_column(Float)
    extended: Mapped[float] = mapped_column(Float, default=0.0)
    consumed: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(String(16))  # running | paused | suspended | stopped
    light: Mapped[str] = mapped_column(String(8), default="green")  # green | yellow | red
    outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)  # met | breached (once stopped)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    anchor_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # where counting starts (art. 201)
    running_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paused_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    suspended_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    yellow_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    red_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    missed_by: Mapped[float | None] = mapped_column(Float, nullable=True)  # axis seconds past the target
    calendar_gap: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a year without calendar data
    next_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 yellow fired, 2 red fired
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SlaClock(ClockColumns, TenantScoped, Base):
    """One clock per (claim, policy, cycle), stored as DESIGN §7 asks: budgets, consumed time,
    ``running_since`` (null while paused, suspended or stopped), state, and derived due dates.

    Budgets and consumed time are seconds on the policy's axis (elapsed, business or working
    time), so a pause or a calendar edit moves the deadline instead of leaving a stale date.
    ``next_check_at`` is when the sweep must look again (the next threshold); null when nothing can
    happen without an event, so the sweep reads an index range, never every clock.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_id", "policy_code", "cycle"),
        Index("ix_sla_clocks_tenant_next_check", "tenant_id", "next_check_at"),
        # The claim list's light, overdue, deadline and KPI drill-down filters (0012_work_lists).
        Index("ix_sla_clocks_tenant_state_light", "tenant_id", "state", "light", "claim_id"),
        # Breached clocks only (0034): every query of it compares breached_at, and a clock the sweep turns yellow
        # then adds one entry instead of also removing one from a random leaf of the never-breached majority.
        Index(
            "ix_sla_clocks_tenant_state_breached",
            "tenant_id",
            "state",
            "breached_at",
            "claim_id",
            sqlite_where=text("breached_at IS NOT NULL"),
            postgresql_where=text("breached_at IS NOT NULL"),
        ),
        Index("ix_sla_clocks_claim_state_due", "claim_id", "state", "yellow_due_at"),
        Index("ix_sla_clocks_tenant_policy_started", "tenant_id", "policy_code", "started_at"),
        Index(
            "ix_sla_clocks_open_due",
            "tenant_id",
            "yellow_due_at",
            sqlite_where=text("state <> 'stopped'"),
            postgresql_where=text("state <> 'stopped'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    policy_code: Mapped[str] = mapped_column(String(48))
    cycle: Mapped[int] = mapped_column(Integer, default=1)


class SlaClockEvent(TenantScoped, Base):
    """What happened to a clock and why: start, pause, resume, suspension, extension, stop,
    breach, recomputation after a calendar edit. The claim page draws pause periods from it."""

    __tablename__ = "sla_clock_events"
    __table_args__ = (Index("ix_sla_clock_events_clock", "clock_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clocks.id"))
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)  # extension, in policy units
    due_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the row was written (``at`` is when the clock event happened, which a late event puts in the past):
    # the monthly partition key on PostgreSQL (0031_pg_partitions), so the claim page reads recent partitions only.
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Escalation(TenantScoped, Base):
    """A threshold crossed. Yellow is a task in the supervisors' queue; red also files with the
    regulator. One row per (clock, level): the unique key makes a second firing impossible."""

    __tablename__ = "sla_escalations"
    __table_args__ = (
        UniqueConstraint("clock_id", "level"),
        Index("ix_sla_escalations_tenant_status", "tenant_id", "status", "fired_at"),
        # The to-do inbox groups a supervisor's open escalations by claim from this index alone.
        Index(
            "ix_sla_escalations_open_work",
            "tenant_id",
            "status",
            "claim_id",
            "level",
            "fired_at",
            "due_at",
            "clock_id",
            "org_unit_id",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clocks.id"))
    # No foreign key: the clock's binds the claim (written from it by the sweep); checking this one too locked a claim
    # row per escalation, a third of the sweep's database time over 1 M clocks (0032_sweep).
    claim_id: Mapped[int] = mapped_column(BigId)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    level: Mapped[str] = mapped_column(String(8))  # yellow | red
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | acknowledged
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class RegulatorFiling(TenantScoped, Base):
    """监管报备: a red clock reported to the supervising platform. Exportable as CSV/JSON."""

    __tablename__ = "regulator_filings"
    __table_args__ = (
        UniqueConstraint("escalation_id"),
        Index("ix_regulator_filings_tenant_filed", "tenant_id", "filed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("sla_escalations.id"))
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clocks.id"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    claim_number: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    policy_code: Mapped[str] = mapped_column(String(48))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    yellow_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    red_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
