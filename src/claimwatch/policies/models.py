"""Sales and underwriting quality (DESIGN M18; seed 002 銷售品質管理 and 核保): the policies sold with their
disclosure and recorded-sale (双录) evidence, the rules that flag a sale, underwriting cases with rule-based
risk assessment, manual review and reasoned decisions on a turnaround clock, and the post-issue revisit
(新契约回访) of long-term life and health policies.

Customers are personal data: only a keyed hash (``privacy.keyed_hash`` of the ID number) and a masked name
are stored here; the core system holds the rest. Agents are :class:`claimwatch.people.models.StaffMember`
rows named by code: a sale by an unknown agent is refused.

Sales and underwriting cases are inspection subjects (kinds ``sale`` and ``underwriting``,
``policies/inspection_subject.py``): a flagged sale is in the population of a targeted plan, and the 双录
recordings are checked by sampling like claims.
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
from claimwatch.sla.models import ClockColumns


class PolicySale(TenantScoped, Base):
    """One policy sold. ``channel``: agent | bank | telesales | online | broker. ``long_term`` marks long-term
    life and health policies (a revisit is due within the cooling-off period). Disclosure: the 投保提示书
    acknowledged (``disclosure_signed_on``). The 双录 recording: its reference in the recording store and its
    SHA-256 (``recording_sha256``; None: not recorded — required for the channels and ages the sales rules
    name). ``cancelled_on`` within ``cooling_off_days`` of ``signed_on`` is a 犹豫期 cancellation.
    ``sample_key``: a uniform random integer in [0, 2**31) for sampling (as claims)."""

    __tablename__ = "policy_sales"
    __table_args__ = (
        UniqueConstraint("tenant_id", "policy_number"),
        Index("ix_policy_sales_tenant_agent_signed", "tenant_id", "agent_id", "signed_on"),
        Index("ix_policy_sales_tenant_signed", "tenant_id", "signed_on"),
        Index("ix_policy_sales_tenant_customer", "tenant_id", "customer_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    policy_number: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(String(32))  # life | health | accident | motor | property…
    long_term: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    customer_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_name_masked: Mapped[str | None] = mapped_column(String(100), nullable=True)
    customer_age: Mapped[int | None] = mapped_column(Integer, nullable=True)  # at signing (from the ID's birth date)
    premium_fen: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    cooling_off_days: Mapped[int] = mapped_column(Integer, default=15)
    disclosure_signed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    recording_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recording_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    cancelled_in_cooling_off: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_count: Mapped[int] = mapped_column(Integer, default=0)  # open flags (the sampling score)
    sample_key: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | import | form
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SaleFlag(TenantScoped, Base):
    """A sales-quality rule that fired. ``rule``: unlicensed_agent | missing_disclosure | missing_recording |
    cooling_off_rate (per agent, per month; ``sale_id`` None) | mis_selling_complaint. ``status``: open |
    cleared (with the reason, by a quality manager) | confirmed (a finding was recorded)."""

    __tablename__ = "sale_flags"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rule", "sale_id", "agent_id", "period"),
        Index("ix_sale_flags_tenant_status", "tenant_id", "status", "raised_at"),
        Index("ix_sale_flags_tenant_agent", "tenant_id", "agent_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    sale_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("policy_sales.id"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), nullable=True)
    period: Mapped[str] = mapped_column(String(8), default="")  # "2026-11" for per-month rules, else ""
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # the figures that fired it
    status: Mapped[str] = mapped_column(String(16), default="open")
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cleared_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    clear_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    finding_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class SaleComplaintLink(TenantScoped, Base):
    """A complaint about a sale (category ``sales``): found by the customer's keyed hash or linked by
    staff; the agent is the sale's. ``linked_by`` ``system`` when matched automatically."""

    __tablename__ = "sale_complaint_links"
    __table_args__ = (UniqueConstraint("tenant_id", "complaint_id", "sale_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id"))
    sale_id: Mapped[int] = mapped_column(BigId, ForeignKey("policy_sales.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), nullable=True)
    linked_by: Mapped[str] = mapped_column(String(100))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class UnderwritingRuleSet(TenantScoped, Base):
    """One version of the underwriting rules (YAML: factors, thresholds, outcomes), append-only; the newest is
    in force, and each case names the version it was assessed under. In the audit chain
    (``config.underwriting_rules``)."""

    __tablename__ = "underwriting_rule_sets"
    __table_args__ = (Index("ix_underwriting_rule_sets_tenant_loaded", "tenant_id", "loaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class UnderwritingCase(TenantScoped, Base):
    """An application (投保申请) and its underwriting. ``facts``: the applicant's risk factors as received
    (age, sum insured, occupation class, health answers, BMI… — no names or ID numbers). Assessment by the
    rule set: ``risk_points``, ``risk_level`` low | medium | high, ``fired`` [{code, points, outcome}],
    ``proposed_outcome`` accept | rate_up | exclusion | decline. High risk (or a rule that demands it) needs
    manual review (``status`` in_review) by an underwriter who records reasons.

    ``status``: received → assessed (automatic decision) | in_review → decided | withdrawn. ``outcome`` and
    ``outcome_reason`` (the reason the applicant is told; required for decline, rate_up and exclusion) are
    final once decided; ``notice_message_id`` the outbox message that told the applicant."""

    __tablename__ = "underwriting_cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "application_number"),
        Index("ix_underwriting_cases_tenant_status_received", "tenant_id", "status", "received_at"),
        Index("ix_underwriting_cases_tenant_reviewer", "tenant_id", "reviewer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_number: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    applicant_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    applicant_name_masked: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Where the decision notice goes: the applicant's phone, encrypted (privacy.field_cipher), shown masked.
    applicant_phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    sum_insured_fen: Mapped[int] = mapped_column(BigInteger)
    premium_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    facts: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    rule_set_id: Mapped[int | None] = mapped_column(ForeignKey("underwriting_rule_sets.id"), nullable=True)
    risk_points: Mapped[float | None] = mapped_column(Float, nullable=True)
    risk_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    fired: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    proposed_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    review_reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    exclusions: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate_up_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    notice_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sample_key: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class UnderwritingEvent(TenantScoped, Base):
    """What happened to a case, oldest first (its page's history): received, assessed, review_requested,
    assigned, reviewed, decided, notified, withdrawn. ``actor`` a staff user or ``system``."""

    __tablename__ = "underwriting_events"
    __table_args__ = (Index("ix_underwriting_events_case", "tenant_id", "case_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("underwriting_cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class UnderwritingClock(ClockColumns, TenantScoped, Base):
    """A case's turnaround on the SLA engine (the engine's columns, as ``provider_task_clocks``): from receipt
    to decision, target per line and risk level from the underwriting rules (working days)."""

    __tablename__ = "underwriting_clocks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "case_id", "policy_code", "cycle"),
        Index("ix_underwriting_clocks_tenant_next_check", "tenant_id", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("underwriting_cases.id"))
    policy_code: Mapped[str] = mapped_column(String(48))
    cycle: Mapped[int] = mapped_column(Integer, default=1)


class PolicyRevisit(TenantScoped, Base):
    """The post-issue revisit (新契约回访) of a long-term life or health policy, due within its cooling-off
    period (``due_on``). ``channel``: message (through the outbox, the customer answers by link or reply) |
    call (a call task for a service agent). ``status``: due → in_progress → done | overdue (past ``due_on``
    undone; the worker marks it). ``outcome``: understood | misled | unreachable (after ``attempts``); a
    misled outcome opens an inspection finding on the sale (``finding_id``) and flags the sale."""

    __tablename__ = "policy_revisits"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sale_id"),
        Index("ix_policy_revisits_tenant_status_due", "tenant_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sale_id: Mapped[int] = mapped_column(BigId, ForeignKey("policy_sales.id"))
    channel: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="due")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    finding_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
