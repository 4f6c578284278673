from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now

BigId = BigInteger().with_variant(Integer, "sqlite")
SAMPLE_KEY_RANGE = 2**31
# Rows about a claim may carry a write time this much before the claim's own (clock skew between hosts).
WRITTEN_MARGIN = dt.timedelta(days=1)


def new_sample_key() -> int:
    """A claim's permanent random number (PRN) in [0, 2**31), drawn once when the claim is stored.

    Inspection samples are the records with the smallest keys after a seeded rotation, so drawing 1 % of
    10 M claims reads an index range instead of every row (``inspections/draw.py``)."""
    return secrets.randbelow(SAMPLE_KEY_RANGE)


class Claim(TenantScoped, Base):
    """A claim (赔案). Amounts are integer fen (分) so sums are exact on every database.

    The claimant's phone and ID number are encrypted at rest (AES-GCM); ``claimant_phone_hash`` is a
    keyed HMAC so a phone can be matched without storing it in clear.
    """

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_claims_tenant_status", "tenant_id", "status"),
        Index("ix_claims_tenant_line_region", "tenant_id", "line", "region_code"),
        Index("ix_claims_tenant_reported_at", "tenant_id", "reported_at"),
        # Claims closed in a window (satisfaction surveys to send).
        Index("ix_claims_tenant_closed_at", "tenant_id", "closed_at"),
        # The claim list's filters and sorts (0012_work_lists).
        Index("ix_claims_tenant_assignee_reported", "tenant_id", "assignee_id", "reported_at"),
        Index("ix_claims_tenant_org_reported", "tenant_id", "org_unit_id", "reported_at"),
        Index("ix_claims_tenant_status_reported", "tenant_id", "status", "reported_at"),
        Index("ix_claims_tenant_assignee_closed", "tenant_id", "assignee_id", "closed_at"),
        Index("ix_claims_tenant_amount", "tenant_id", "reported_amount_fen"),
        Index("ix_claims_tenant_closed_reported", "tenant_id", "closed_at", "reported_at"),
        # Inspection sampling (0013_sample_keys): the smallest rotated keys of a population, read from the index
        # alone; and the population per stratum (org × line × region) counted from the index alone.
        Index(
            "ix_claims_tenant_sample_key",
            "tenant_id",
            "sample_key",
            "id",
            "org_unit_id",
            "line",
            "region_code",
            "assignee_id",
        ),
        Index("ix_claims_tenant_strata", "tenant_id", "org_unit_id", "line", "region_code", "sample_key"),
        # Triage (0021_triage): the claim list and inspection populations by route; queues by priority.
        Index("ix_claims_tenant_route_reported", "tenant_id", "route", "reported_at"),
        Index("ix_claims_tenant_risk_level", "tenant_id", "risk_level"),
        # Green channel (0022_catastrophes): the few claims with a priority, first in every queue, from a small
        # index; a catastrophe event's claims by region (its page).
        Index(
            "ix_claims_tenant_priority",
            "tenant_id",
            "priority",
            "reported_at",
            sqlite_where=text("priority > 0"),
            postgresql_where=text("priority > 0"),
        ),
        Index(
            "ix_claims_tenant_catastrophe",
            "tenant_id",
            "catastrophe_id",
            "region_code",
            sqlite_where=text("catastrophe_id IS NOT NULL"),
            postgresql_where=text("catastrophe_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True, index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True)
    line: Mapped[str] = mapped_column(String(32))
    policy_number: Mapped[str] = mapped_column(String(64))
    claimant_name: Mapped[str] = mapped_column(String(100))
    claimant_phone_enc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimant_id_number_enc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimant_phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # Optional; for claimant notifications by email (encrypted like the phone, hash for opt-outs).
    claimant_email_enc: Mapped[str | None] = mapped_column(String(400), nullable=True)
    claimant_email_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reported_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # As reported: compulsory (交强险) | commercial | None (not said); selects the legal clocks (sla).
    coverage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assessed_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    paid_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    sample_key: Mapped[int] = mapped_column(Integer, default=new_sample_key)
    # The triage outcome (issue 15), written by triage at report time; lower domains (workflow shortcut, SLA
    # selectors, materials, queues, inspection populations) read these columns and never import triage or risk.
    route: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    triage_decision_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    risk_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    risk_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    catastrophe_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def written_since(self) -> dt.datetime:
        """A time before every row written about this claim (its events, clock events, messages: all written at or
        after the claim itself): the claim page bounds their partition keys by it, so PostgreSQL reads the monthly
        partitions from the claim's creation on (0031_pg_partitions). A day's margin for clocks between hosts."""
        return self.created_at - WRITTEN_MARGIN


class CaseEvent(TenantScoped, Base):
    """Something that happened to a claim, as received. Append-only; part of the audit chain.

    ``occurred_at`` is when it happened in the source system, ``received_at`` when we accepted it.
    ``fingerprint`` hashes the request so a replay with the same ``client_event_id`` but other
    content is told apart from an honest retry.
    """

    __tablename__ = "case_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_event_id"),
        UniqueConstraint("tenant_id", "audit_seq"),
        Index("ix_case_events_claim", "claim_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    client_event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[str | None] = mapped_column(Text, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    audit_seq: Mapped[int] = mapped_column(BigInteger)
