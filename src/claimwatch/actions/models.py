"""Improvement actions (改进措施, PDCA): a problem seen somewhere (an inspection finding, a complaint root cause,
a quality alert, a red KPI, a survey dimension, a committee decision, or by hand), what was done about it, and
whether it worked.

An action runs plan → do → check → act → closed (or cancelled, with a reason). Plan: the problem, the root
cause (5 whys or a fishbone), the steps with their own owners and due dates. Do: the steps are carried out;
Do ends (``done_at``, the intervention date) when every step is done. Check: the targeted KPI is compared in
the action's scope before and after ``done_at`` (:mod:`claimwatch.actions.effectiveness`), the verdict stored.
Act: standardise (the changed workflow, checklist, policy, scorecard or document versions are linked here and
in the audit chain) and close, or start a new cycle (a new action, ``previous_action_id`` → this one).

Deadlines run on the SLA engine (:class:`ActionClock`, the engine's ``ClockColumns``): the action's due date
(stops when Do ends) and each step's (stops when the step is done); reminders before, warnings and escalation
after (:mod:`claimwatch.actions.jobs`). Every change is one service call with its audit entry; the history of
an action is its audit entries (subject = the action's number).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now
from claimwatch.sla.models import ClockColumns


class ImprovementAction(TenantScoped, Base):
    """One improvement action (改进措施) and its PDCA phase. Several actions may come from one source."""

    __tablename__ = "improvement_actions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_improvement_actions_tenant_phase", "tenant_id", "phase", "due_at"),
        Index("ix_improvement_actions_tenant_owner", "tenant_id", "owner_user_id", "phase"),
        Index("ix_improvement_actions_tenant_source", "tenant_id", "source_kind", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # GJ-2026-0001
    title: Mapped[str] = mapped_column(String(300))
    problem: Mapped[str] = mapped_column(Text)
    # finding | complaint_cause | alert | kpi | survey | committee | manual
    source_kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source_label: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    kpi_code: Mapped[str | None] = mapped_column(String(48), nullable=True)
    scope_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    scope_region: Mapped[str | None] = mapped_column(String(12), nullable=True)
    scope_line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # end of the due day (tenant zone), UTC
    phase: Mapped[str] = mapped_column(String(16))  # plan | do | check | act | closed | cancelled
    rca_method: Mapped[str | None] = mapped_column(String(16), nullable=True)  # five_whys | fishbone
    rca: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    root_cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    previous_action_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # Do ended
    check_verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    check_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    standard_refs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # standardised | closed | new_cycle | cancelled (how it ended); the reason or closing note
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # closed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ActionStep(TenantScoped, Base):
    """A step of the plan (措施步骤) with its own owner and due date; done when its owner (or the action's
    owner, or a manager) finishes it."""

    __tablename__ = "action_steps"
    __table_args__ = (
        Index("ix_action_steps_action", "action_id", "position"),
        Index("ix_action_steps_tenant_owner", "tenant_id", "owner_user_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_actions.id"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ActionClock(ClockColumns, TenantScoped, Base):
    """A due date on the SLA engine: the action's (``step_id`` null; stops when Do ends) or a step's (stops
    when the step is done). A changed due date starts a new ``cycle``. ``reminded_at``: when the reminder
    before the due date went out; ``reminders``: the overdue reminders since."""

    __tablename__ = "action_clocks"
    __table_args__ = (
        Index("ix_action_clocks_action", "action_id", "step_id"),
        Index("ix_action_clocks_tenant_next_check", "tenant_id", "next_check_at"),
        Index(
            "ix_action_clocks_open_due",
            "tenant_id",
            "yellow_due_at",
            sqlite_where=text("state <> 'stopped'"),
            postgresql_where=text("state <> 'stopped'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_actions.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("action_steps.id"), nullable=True)
    policy_code: Mapped[str] = mapped_column(String(48))  # action_due | action_step_due
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    remind_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # before the due date
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
