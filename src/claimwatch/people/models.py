"""The people who do the work (DESIGN M20): staff and agents with their licences, training courses,
sessions and attendance, and the monthly quality-linked appraisal (质量挂钩考核) with recognition.

Seeds 000 and 004 ask for training coverage of 100 % and for service quality in each person's appraisal; seed
002 for licensed sales staff only and coached new staff. A *staff member* here is anyone whose work the
platform measures: an employee (who may also be a platform user, ``user_id``) or a sales agent (代理人, usually
not a platform user). Names and codes of staff are not customer personal data; no ID number is stored.

Who must take what is data (``defaults/people/training.yaml``: mandatory courses per staff kind, days after
hire, yearly hours); a training made mandatory by a violation lives in the sanctions domain
(:class:`claimwatch.sanctions.models.MandatoryTraining`) and is completed by attending a session of a course
whose ``kind`` is ``remedial`` (its topic matching the course code or title).
"""

from __future__ import annotations

import datetime as dt

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


class StaffMember(TenantScoped, Base):
    """One person of an insurer: ``code`` is the 工号 or agent code (unique per tenant; sales records and
    attendance name people by it). ``kind``: employee | agent. ``status``: active | left (``left_on``).
    ``user_id`` links the platform account of an employee who signs in (a handler, an inspector…); the
    appraisal reads that user's claims, complaints and inspections."""

    __tablename__ = "staff_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_staff_members_tenant_org_status", "tenant_id", "org_unit_id", "status"),
        Index("ix_staff_members_tenant_user", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # employee | agent
    job_title: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 理赔员, 核保员, 销售代理…
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The manager who sees the person's scorecard besides the quality department (a platform user).
    manager_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    hired_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class StaffLicence(TenantScoped, Base):
    """A licence or qualification (执业证, 资格证): ``kind`` sales | claims_adjuster | underwriter |
    other; valid on a day when ``issued_on`` ≤ day ≤ ``expires_on`` and not revoked. Expiring licences are
    warned 30 days ahead (``warned_at`` set once by the worker)."""

    __tablename__ = "staff_licences"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "number"),
        Index("ix_staff_licences_tenant_staff", "tenant_id", "staff_id"),
        Index("ix_staff_licences_tenant_expires", "tenant_id", "expires_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    kind: Mapped[str] = mapped_column(String(24))
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    revoked_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    warned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class TrainingCourse(TenantScoped, Base):
    """A course: ``kind`` induction (新人岗前) | product | compliance | service | remedial (重点培训 after a
    violation) | other; ``hours`` credited per attendance; ``lines`` it concerns (empty: all)."""

    __tablename__ = "training_courses"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    hours: Mapped[float] = mapped_column(Float)
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class TrainingSession(TenantScoped, Base):
    """One delivery of a course (a class, a webinar) on a date, by a trainer, for an org unit (None: all)."""

    __tablename__ = "training_sessions"
    __table_args__ = (Index("ix_training_sessions_tenant_course_held", "tenant_id", "course_id", "held_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200), nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class TrainingAttendance(TenantScoped, Base):
    """A person at a session: ``hours`` credited (the course's, or fewer when they left early); ``passed``
    the assessment (None: no assessment). A course counts as completed by a person when they attended a
    session of it and did not fail."""

    __tablename__ = "training_attendances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "session_id", "staff_id"),
        Index("ix_training_attendances_tenant_staff", "tenant_id", "staff_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("training_sessions.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    hours: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class AppraisalScheme(TenantScoped, Base):
    """One version of the appraisal weights (YAML: metrics with weights summing to 100, how each is scored,
    star thresholds), append-only; the newest is in force. Each row is in the audit chain
    (``config.appraisal_scheme``)."""

    __tablename__ = "appraisal_schemes"
    __table_args__ = (Index("ix_appraisal_schemes_tenant_loaded", "tenant_id", "loaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the YAML text
    content: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AppraisalScorecard(TenantScoped, Base):
    """One person's monthly scorecard (``month`` the first day). ``metrics``: [{code, value, points, weight,
    contribution, basis (what was counted)}]; ``score`` 0–100; ``peer_percentile`` among people of the same
    kind and job title in the tenant that month; ``stars`` 0–5 (服务之星 from the scheme's thresholds).
    Recomputing a month replaces the values but keeps the manager's comment."""

    __tablename__ = "appraisal_scorecards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "staff_id", "month"),
        Index("ix_appraisal_scorecards_tenant_month", "tenant_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    month: Mapped[dt.date] = mapped_column(Date)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("appraisal_schemes.id"))
    metrics: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: too little data to score
    peer_percentile: Mapped[float | None] = mapped_column(Float, nullable=True)
    stars: Mapped[int] = mapped_column(Integer, default=0)
    manager_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    commented_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    commented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
