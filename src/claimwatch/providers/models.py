"""Third parties in the claim (第三方机构, DESIGN M23): the register, contracts with a service level per task
kind, the tasks a claim sends them with their deadline on the SLA engine, their reports, disputes on those
reports, and the monthly scorecard flags.

Seed 003: 18 % of one insurer's appraisal reports were late because cooperation was "一事一議"; the indicator
is "第三方機構合作規範率 100 %". A task is *standard* (``ProviderTask.standard``, set when its report is in or its
deadline passes) when it went out through the platform with the kind's standard document set, was answered
within its deadline, and its report carries the kind's required fields; ``standard_reasons`` says which of the
three failed. What a KPI snapshot reads is on :class:`ProviderTask` (final once set): ``sent_at``, ``due_at``,
``reported_at``, ``on_time``, ``standard``, ``kind``, ``provider_id``, ``region_code``.

Contacts are personal data: stored encrypted (``privacy.field_cipher``), shown masked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now
from claimwatch.sla.models import ClockColumns


class Provider(TenantScoped, Base):
    """One third party an insurer works with. ``kind``: appraisal_agency | repair_shop | hospital | surveyor |
    law_firm. ``credit_code`` is the 统一社会信用代码 (18 characters): the regulator joins one provider across
    insurers on it. ``status``: active | suspended (a suspended provider gets no new tasks); a provider on the
    sanctions blacklist (party kind ``third_party``, same code or name) is refused as well, whatever its status."""

    __tablename__ = "providers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_providers_tenant_kind_status", "tenant_id", "kind", "status"),
        Index("ix_providers_credit_code", "credit_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)  # province/city codes it serves
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)  # motor, medical, property…
    licence_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    licence_expires_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status_changed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Contact person, encrypted (privacy.field_cipher); shown masked.
    contact_name_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact_email_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100), default="system")


class ProviderContract(TenantScoped, Base):
    """A cooperation agreement (合作协议): its reference, fee schedule reference and period, and a service
    level per task kind (:class:`ContractLevel`). The contract in force on the day a task is sent sets its
    deadline; without one the task kind's default level applies (and the task cannot count as standard)."""

    __tablename__ = "provider_contracts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        Index("ix_provider_contracts_provider", "tenant_id", "provider_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    reference: Mapped[str] = mapped_column(String(64))
    fee_schedule_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100), default="system")


class ContractLevel(TenantScoped, Base):
    """The service level of one task kind under one contract: ``days`` of ``unit`` (working_days |
    calendar_days | hours) from the task's sending to its report."""

    __tablename__ = "provider_contract_levels"
    __table_args__ = (UniqueConstraint("contract_id", "task_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("provider_contracts.id"))
    task_kind: Mapped[str] = mapped_column(String(32))
    days: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16), default="working_days")


class ProviderTask(TenantScoped, Base):
    """A task a claim sends a provider (委托): appraisal | repair_estimate | medical_records | survey |
    legal_opinion. ``status``: sent → accepted | declined → reported → (disputed →) closed; cancelled by staff.
    ``documents``: the names of the documents sent with it (the kind's standard set is in
    ``defaults/providers/task_kinds.yaml``). The report's fields are columns where every kind has them
    (``amount_assessed``, ``conclusion``) and ``report_fields`` for the rest; ``report_sha256`` is the uploaded
    report file's digest, also in the audit chain."""

    __tablename__ = "provider_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_provider_tasks_claim", "tenant_id", "claim_id"),
        Index("ix_provider_tasks_provider_sent", "tenant_id", "provider_id", "sent_at"),
        Index(
            "ix_provider_tasks_open_due",
            "tenant_id",
            "due_at",
            sqlite_where=text("status IN ('sent', 'accepted')"),
            postgresql_where=text("status IN ('sent', 'accepted')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    claim_id: Mapped[int] = mapped_column(BigId, ForeignKey("claims.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("provider_contracts.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="sent")
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)  # the claim's, for statistics
    line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    handler_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_by: Mapped[str] = mapped_column(String(100))
    sent_by_rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    instructions: Mapped[str | None] = mapped_column(Text, nullable=True)
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    standard_documents: Mapped[bool] = mapped_column(Boolean, default=False)
    level_days: Mapped[int] = mapped_column(Integer)
    level_unit: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    amount_assessed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    conclusion: Mapped[str | None] = mapped_column(Text, nullable=True)
    report_fields: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    report_filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    report_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    report_storage_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    standard: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    standard_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProviderTaskClock(ClockColumns, TenantScoped, Base):
    """The task's deadline on the SLA engine (the engine's columns, as ``rectification_clocks``): the contract's
    service level from sending to the report; yellow at the kind's share of it."""

    __tablename__ = "provider_task_clocks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "task_id", "policy_code", "cycle"),
        Index("ix_provider_task_clocks_tenant_next_check", "tenant_id", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("provider_tasks.id"))
    policy_code: Mapped[str] = mapped_column(String(48))
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ProviderTaskEvent(TenantScoped, Base):
    """What happened to a task, oldest first (the task page's history): sent, accepted, declined, reminded,
    escalated, reported, disputed, dispute_resolved, closed, cancelled. ``actor``: a staff user, ``provider:CODE``,
    ``claimant`` or ``system``."""

    __tablename__ = "provider_task_events"
    __table_args__ = (Index("ix_provider_task_events_task", "tenant_id", "task_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("provider_tasks.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class TaskDispute(TenantScoped, Base):
    """A dispute on a provider's report (e.g. a repair estimate the claimant contests; seed 003: 24 % of
    loss-assessment disputes came from repair shops' data). ``raised_by_kind``: claimant | handler.
    ``outcome``: upheld (the report was wrong) | rejected (the report stands) | withdrawn."""

    __tablename__ = "provider_task_disputes"
    __table_args__ = (Index("ix_provider_task_disputes_task", "tenant_id", "task_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("provider_tasks.id"))
    raised_by_kind: Mapped[str] = mapped_column(String(16))
    raised_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ProviderFlag(TenantScoped, Base):
    """A provider below the scorecard thresholds in one month (flagged for review): the figures and which
    thresholds it missed. ``status``: open → kept | warned | suspended (the review's decision, audited)."""

    __tablename__ = "provider_flags"
    __table_args__ = (UniqueConstraint("tenant_id", "provider_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    figures: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
