"""Rectification (整改): what a finding asks an org unit to put right, tracked to acceptance.

A rectification is generic: its ``source`` (kind + id + label + url) is an inspection finding today and a
corrective action, a regulator's finding or a third-party review later; the source's own domain calls
:func:`claimwatch.rectification.service.open_rectification` and links back by id.

Seed 003 §9.4: "30日内提交整改方案，委员会在60日内验收", completion target 100 %. Two clocks on the SLA
engine (:class:`RectificationClock`, the engine's ``ClockColumns``): the plan (30 calendar days from
opening) and the acceptance (60 days from opening).

What a KPI snapshot reads (columns on :class:`Rectification`, final once set):
``opened_at``; ``plan_submitted_at`` and ``plan_outcome`` (met | breached, set when the plan clock stops);
``accepted_at`` and ``acceptance_outcome`` (met | breached, set at acceptance); ``plan_due_at`` and
``acceptance_due_at`` (the deadlines as computed at opening, UTC). Plan on-time rate = plan_outcome 'met' /
plans due in the period; acceptance on-time rate = acceptance_outcome 'met' / acceptances due; completion
rate = accepted_at not null / opened. An open clock past its deadline shows as ``status`` not accepted and
the clock's light (``rectification_clocks``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now
from claimwatch.sla.models import ClockColumns


class Rectification(TenantScoped, Base):
    """One rectification (整改): source, owner (org unit and person), title, severity, state, the plan and
    the dates each step happened. ``(tenant, source_kind, source_id)`` is unique: opening twice for the
    same source returns the first."""

    __tablename__ = "rectifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "source_kind", "source_id"),
        Index("ix_rectifications_tenant_status", "tenant_id", "status"),
        Index("ix_rectifications_tenant_owner", "tenant_id", "owner_user_id", "status"),
        Index("ix_rectifications_tenant_opened", "tenant_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # ZG-2026-000001
    # inspection_finding | corrective_action | regulator_finding | third_party_review | …
    source_kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int] = mapped_column(BigInteger)
    source_label: Mapped[str] = mapped_column(String(200))
    source_url: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8))  # minor 一般 | major 较重 | severe 严重
    owner_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # open | plan_submitted | in_progress | submitted_for_acceptance | accepted | sent_back | closed
    status: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(100))
    plan_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acceptance_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    plan_submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    plan_outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)  # met | breached
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # last for acceptance
    sent_back_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accepted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acceptance_outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)  # met | breached
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RectificationEvent(TenantScoped, Base):
    """The timeline: opened, plan, progress, submitted, accepted, sent back, closed, evidence, overdue,
    reminder. Append-only; each is also in the tenant's audit chain."""

    __tablename__ = "rectification_events"
    __table_args__ = (Index("ix_rectification_events_rectification", "rectification_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectifications.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


class RectificationClock(ClockColumns, TenantScoped, Base):
    """A rectification deadline (plan 30 days, acceptance 60 days) on the SLA engine's columns.
    ``reminders``/``reminded_at``: the overdue reminders sent to the owner while it stays overdue."""

    __tablename__ = "rectification_clocks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rectification_id", "policy_code", "cycle"),
        Index("ix_rectification_clocks_tenant_next_check", "tenant_id", "next_check_at"),
        Index(
            "ix_rectification_clocks_open_due",
            "tenant_id",
            "yellow_due_at",
            sqlite_where=text("state <> 'stopped'"),
            postgresql_where=text("state <> 'stopped'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectifications.id"))
    policy_code: Mapped[str] = mapped_column(String(48))
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RectificationEvidence(TenantScoped, Base):
    """A file for a step (plan, progress, acceptance). Stored by SHA-256 under the documents directory
    (``materials.storage``); the hash is in the audit chain (``audit_seq``)."""

    __tablename__ = "rectification_evidence"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rectification_id", "step", "sha256"),
        Index("ix_rectification_evidence_rectification", "tenant_id", "rectification_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectifications.id"))
    step: Mapped[str] = mapped_column(String(16))  # plan | progress | acceptance
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    audit_seq: Mapped[int] = mapped_column(BigInteger)
