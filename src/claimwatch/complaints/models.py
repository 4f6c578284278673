from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now
from claimwatch.sla.models import ClockColumns


class Complaint(TenantScoped, Base):
    """A complaint (投诉), one record whatever the channel it came in on.

    The complainant's phone, ID number and email are encrypted at rest; ``customer_key`` is a keyed
    hash (of the ID number, else the phone) that links a customer's complaints and claims without
    keeping the clear value in any index. ``external_ref`` is the sender's own number (e.g. a 12378
    transfer number): unique per tenant, so re-importing a regulator's list adds nothing twice.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "external_ref"),
        Index("ix_complaints_tenant_status", "tenant_id", "status"),
        Index("ix_complaints_tenant_received", "tenant_id", "received_at"),
        Index("ix_complaints_tenant_customer", "tenant_id", "customer_key", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(24))
    external_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), nullable=True, index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True, index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True)
    line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    complainant_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    phone_enc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_number_enc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email_enc: Mapped[str | None] = mapped_column(String(400), nullable=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # claims 理赔 | sales 销售 | surrender 退保 | underwriting 承保 | policy_service 保全 | service 服务 | other 其他
    category: Mapped[str] = mapped_column(String(24))
    sub_cause: Mapped[str | None] = mapped_column(String(48), nullable=True)
    # The third party the complaint is about (claimwatch.providers; no foreign key: complaints sit below it).
    provider_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # The text's keywords (jieba terms, personal data removed), space-separated, computed at intake so the
    # keyword trends count instead of segmenting every text on every look.
    keywords: Mapped[str | None] = mapped_column(Text, nullable=True)
    # 重大投诉: group complaint, media, regulator transfer, vulnerable customer (comma-separated reasons)
    major_reasons: Mapped[str | None] = mapped_column(String(120), nullable=True)
    special_team: Mapped[bool] = mapped_column(Boolean, default=False)
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    # received | accepted | investigating | decided | review_requested | reviewed | closed | withdrawn
    status: Mapped[str] = mapped_column(String(24))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_contact_resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # upheld | partly_upheld | not_upheld
    decision_outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    decision_letter: Mapped[str | None] = mapped_column(Text, nullable=True)
    compensation_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    review_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)  # upheld | changed
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ComplaintEvent(TenantScoped, Base):
    """The complaint's history: intake, acceptance, notes, new facts, extension, appraisal, decision,
    review, withdrawal, escalation, links to repeats. Append-only; each is also in the audit chain."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index("ix_complaint_events_complaint", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


class ComplaintClock(ClockColumns, TenantScoped, Base):
    """A complaint deadline (decision 15/30/60 days, review, regulator-transfer acceptance).

    The columns are the ones the SLA engine (``claimwatch.sla.engine``) computes on, so the same
    arithmetic — calendar axes, pauses, bounded extension, breach recording — runs on complaint clocks
    as on claim clocks. ``cycle`` grows when new facts restart the decision clock.
    """

    __tablename__ = "complaint_clocks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "complaint_id", "policy_code", "cycle"),
        Index("ix_complaint_clocks_tenant_next_check", "tenant_id", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    policy_code: Mapped[str] = mapped_column(String(48))
    cycle: Mapped[int] = mapped_column(Integer, default=1)


class TenantVolume(TenantScoped, Base):
    """What the tenant reports for a month, so complaint rates can be put per 10 000 policies and per
    100 M CNY premium (保险公司服务评价). Optional per org unit; null org = the whole tenant."""

    __tablename__ = "tenant_volumes"
    __table_args__ = (UniqueConstraint("tenant_id", "period", "org_unit_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    policies_in_force: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    premium_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
