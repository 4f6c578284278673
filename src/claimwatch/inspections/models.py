"""Quality inspections (品质抽检): plans, draws, the sampled cases, item results, evidence, findings, reviews.

Owners while issue 13 is built: plans/draws/inspections (sampling) — helper "sampling"; item results,
evidence, findings, reviews (scoring) — helper "scoring". A table's owner makes any change to it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class InspectionPlan(TenantScoped, Base):
    """A sampling plan as data: population filter, method, size, scorecard, schedule.

    ``definition`` is the validated plan as JSON (``inspections.schemas.PlanDefinition``): what a draw
    needs to be reproduced. ``source`` says where the plan came from: manual, periodic, or an alert
    (``source_ref`` is then the quality alert's id)."""

    __tablename__ = "inspection_plans"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_inspection_plans_tenant_schedule", "tenant_id", "schedule", "active"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(32))
    scorecard_code: Mapped[str] = mapped_column(String(64))
    definition: Mapped[str] = mapped_column(Text)  # JSON
    schedule: Mapped[str] = mapped_column(String(16), default="none")  # none | monthly | quarterly
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | periodic | alert
    source_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class InspectionDraw(TenantScoped, Base):
    """One drawing of a plan's sample: the seed, the population count per stratum and the allocation are
    kept (and written to the audit chain) so the sample can be reproduced and shown to be unbiased.
    ``period`` (2026-11, 2026-Q4) makes a periodic plan draw once per period."""

    __tablename__ = "inspection_draws"
    __table_args__ = (
        UniqueConstraint("tenant_id", "plan_id", "period"),
        Index("ix_inspection_draws_tenant_drawn", "tenant_id", "drawn_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id"))
    period: Mapped[str] = mapped_column(String(16))  # the population period, or "adhoc-<n>"
    seed: Mapped[int] = mapped_column(BigInteger)
    population_count: Mapped[int] = mapped_column(Integer)
    sample_count: Mapped[int] = mapped_column(Integer)
    strata: Mapped[str] = mapped_column(Text)  # JSON: [{key, label, population, sample, rate_prior}]
    parameters: Mapped[str] = mapped_column(Text)  # JSON: the definition as drawn, with the resolved filter
    drawn_by: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Inspection(TenantScoped, Base):
    """One sampled record to inspect, assigned to an inspector; scored against the plan's scorecard.

    Status: assigned → in_progress → submitted (→ reviewed when a 复核 is done). ``error`` is whether the
    inspection found any error (a failed item): the unit of the audit-accuracy estimate."""

    __tablename__ = "inspections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "draw_id", "subject_kind", "subject_id"),
        Index("ix_inspections_tenant_inspector_status", "tenant_id", "inspector_id", "status", "due_at"),
        Index("ix_inspections_tenant_subject", "tenant_id", "subject_kind", "subject_id"),
        Index("ix_inspections_tenant_draw_stratum", "tenant_id", "draw_id", "stratum"),
        Index("ix_inspections_tenant_submitted", "tenant_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id"))
    draw_id: Mapped[int] = mapped_column(ForeignKey("inspection_draws.id"))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    stratum: Mapped[str] = mapped_column(String(120))  # the stratum key ("" when not stratified)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    scorecard_code: Mapped[str] = mapped_column(String(64))
    scorecard_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the card version scored
    status: Mapped[str] = mapped_column(String(16), default="assigned")
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0–100
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    critical_failed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    error: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class InspectionItemResult(TenantScoped, Base):
    """One scorecard item's outcome (pass | fail | na) in one round: ``first`` (the inspector) or
    ``review`` (the second inspector's 复核)."""

    __tablename__ = "inspection_item_results"
    __table_args__ = (UniqueConstraint("tenant_id", "inspection_id", "round", "item_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    round: Mapped[str] = mapped_column(String(8), default="first")  # first | review
    item_code: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(8))  # pass | fail | na
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class InspectionEvidence(TenantScoped, Base):
    """A file attached to an inspection (or one of its items): stored like claim documents (staged,
    fsynced, content-addressed), its SHA-256 written to the audit chain."""

    __tablename__ = "inspection_evidence"
    __table_args__ = (Index("ix_inspection_evidence_inspection", "tenant_id", "inspection_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(400))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class InspectionFinding(TenantScoped, Base):
    """A finding (问题) of an inspection: severity 一般 (minor) | 较重 (major) | 严重 (severe), category,
    the responsible staff member and org unit. A finding above minor opens a rectification
    (``rectification_id``); a sanction may be proposed from it (sanctions refer to it by id)."""

    __tablename__ = "inspection_findings"
    __table_args__ = (
        Index("ix_inspection_findings_tenant_created", "tenant_id", "created_at"),
        Index("ix_inspection_findings_tenant_inspection", "tenant_id", "inspection_id"),
        Index("ix_inspection_findings_tenant_responsible", "tenant_id", "responsible_user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # e.g. F-2026-000123
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    severity: Mapped[str] = mapped_column(String(8))  # minor | major | severe
    category: Mapped[str] = mapped_column(String(48))
    description: Mapped[str] = mapped_column(Text)
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    responsible_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    rectification_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class InspectionReview(TenantScoped, Base):
    """A second inspector's review (复核) of a submitted inspection; ``disagreements`` lists the items the
    two rounds scored differently (JSON: [{item, first, review}])."""

    __tablename__ = "inspection_reviews"
    __table_args__ = (
        UniqueConstraint("tenant_id", "inspection_id"),
        Index("ix_inspection_reviews_tenant_reviewer_status", "tenant_id", "reviewer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="assigned")  # assigned | submitted
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    agreed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    disagreements: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
