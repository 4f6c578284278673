"""Customer service requests (客户服务请求, DESIGN M19): 保全 changes, 咨询 enquiries, 报案咨询, document requests,
complaints-to-be — from every channel, linked to the policy, claim and customer, assigned to a team or a handler,
answered through the outbox, and closed with a resolution code; with their own clocks on the SLA engine and the
peak mode of seed 004 (answer within 24 hours, ≥ 95 % on time, ≤ 5 % overdue, ≤ 36 hours at peak, emergencies
within 2 hours).

The customer's phone and ID number are personal data: encrypted (``privacy.field_cipher``), matched by keyed hash
(``customer_key`` as complaints: ID number, else phone), shown masked.

Peak relief never hides a normal-time breach: a request received inside a declared :class:`PeakPeriod` of its
category gets the peak response target and carries ``peak_period_id``; reports count those separately.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now
from claimwatch.sla.models import ClockColumns


class ServiceRequest(TenantScoped, Base):
    """One request. ``category`` and ``priority`` (normal | urgent | emergency) are validated against the
    categories file (``defaults/servicedesk/categories.yaml``: labels, team, resolution target, first-contact
    codes). ``status``: open → in_progress ⇄ waiting_customer (pauses the clocks) → resolved → closed;
    cancelled. ``first_response_at`` is the first reply to the customer (the 24-hour clock stops there);
    ``resolution_code`` is required to resolve. ``complaint_id`` is set when the request was escalated into a
    complaint (the complaint keeps the link too). ``peak_period_id``: received under peak relief."""

    __tablename__ = "service_requests"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_service_requests_tenant_status_received", "tenant_id", "status", "received_at"),
        Index("ix_service_requests_tenant_handler_status", "tenant_id", "handler_id", "status"),
        Index("ix_service_requests_tenant_team_status", "tenant_id", "team", "status"),
        Index("ix_service_requests_tenant_customer", "tenant_id", "customer_key"),
        Index("ix_service_requests_tenant_received", "tenant_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # SR-2026-000123
    channel: Mapped[str] = mapped_column(String(16))  # api | staff | import | public | phone | wechat
    external_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # jieba terms of subject + description (personal data removed): the knowledge-base suggestion query
    keywords: Mapped[str | None] = mapped_column(Text, nullable=True)
    customer_name_masked: Mapped[str | None] = mapped_column(String(100), nullable=True)
    phone_enc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_number_enc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("claims.id"), nullable=True)
    complaint_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("complaints.id"), nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    team: Mapped[str | None] = mapped_column(String(32), nullable=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(24), default="open")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    first_contact_resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    peak_period_id: Mapped[int | None] = mapped_column(ForeignKey("peak_periods.id"), nullable=True)
    # the articles the handler used to answer (KB ids), for "was this helpful" and the hit report
    articles_used: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ServiceRequestEvent(TenantScoped, Base):
    """What happened to a request, oldest first: received, assigned, noted (internal), replied (to the customer,
    through the outbox: ``message_id``), waiting, resumed, resolved, closed, reopened, escalated, cancelled.
    Notes and replies are kept as written (staff text; the customer's own data is masked on display)."""

    __tablename__ = "service_request_events"
    __table_args__ = (Index("ix_service_request_events_request", "tenant_id", "request_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("service_requests.id"))
    kind: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class ServiceRequestClock(ClockColumns, TenantScoped, Base):
    """A request's clock on the SLA engine: ``policy_code`` first_response (24 h elapsed or business hours per
    tenant config; 2 h for emergencies; the peak target under a peak period) or resolution (per category).
    Waiting on the customer pauses both."""

    __tablename__ = "service_request_clocks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_id", "policy_code", "cycle"),
        Index("ix_service_request_clocks_tenant_next_check", "tenant_id", "next_check_at"),
        # The queue's "nearest deadline" of a request's running clocks, read from the index alone.
        Index("ix_service_request_clocks_request_state_due", "tenant_id", "request_id", "state", "red_due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("service_requests.id"))
    policy_code: Mapped[str] = mapped_column(String(48))
    cycle: Mapped[int] = mapped_column(Integer, default=1)


class PeakPeriod(TenantScoped, Base):
    """Peak mode (高峰期): from ``starts_at`` to ``ends_at`` the first-response target of the named categories
    (empty: all) is ``response_hours`` (36 by default) instead of 24. Declared by a supervisor with a reason, or
    proposed from the forecast (``source`` forecast) and confirmed; ended early with ``ended_at``. Audited."""

    __tablename__ = "peak_periods"
    __table_args__ = (Index("ix_peak_periods_tenant_starts", "tenant_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    response_hours: Mapped[float] = mapped_column(default=36.0)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | forecast
    declared_by: Mapped[str] = mapped_column(String(100))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
