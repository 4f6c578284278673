"""Tables of the materials domain: a claim's materials profile, the notices sent and the documents received."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now

BigId = BigInteger().with_variant(Integer, "sqlite")


class MaterialsProfile(TenantScoped, Base):
    """One per claim: its claim type and facts (which decide the checklist), and the counters KPIs read.

    ``supplement_rounds`` counts notices after the first (材料补交); ``violation_rounds`` counts the
    notices that asked for something already knowable at the first notice (一次性告知 breached).
    ``awaiting_since`` is set while the latest notice still has unreceived items.
    """

    __tablename__ = "materials_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    claim_type: Mapped[str] = mapped_column(String(64))
    facts: Mapped[list[str]] = mapped_column(JSON, default=list)
    notices_issued: Mapped[int] = mapped_column(Integer, default=0)
    supplement_rounds: Mapped[int] = mapped_column(Integer, default=0)
    violation_rounds: Mapped[int] = mapped_column(Integer, default=0)
    awaiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class MaterialsNotice(TenantScoped, Base):
    """A missing-materials notice as sent: round 1 is the one-time notice, later rounds are supplements.

    ``items`` are the item codes requested (names only, never document contents); ``missing_items``
    every applicable item missing when it was issued (what was knowable then); ``claim_type`` and
    ``facts`` the profile it was computed from. ``basis`` tells for each requested item why it is
    asked for in this round: ``first`` (round 1), ``repeat`` (already requested, still missing),
    ``new_fact`` (applicable only since a later profile), ``knowable`` (applicable and missing at the
    first notice yet not requested then: a violation of the one-time rule).
    """

    __tablename__ = "materials_notices"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id", "round"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    round: Mapped[int] = mapped_column(Integer)
    claim_type: Mapped[str] = mapped_column(String(64))
    facts: Mapped[list[str]] = mapped_column(JSON, default=list)
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    missing_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    basis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    violation_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(100))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    audit_seq: Mapped[int] = mapped_column(BigInteger)

    @property
    def violation(self) -> bool:
        return bool(self.violation_items)


class MaterialsDocument(TenantScoped, Base):
    """A document received for a checklist item. The file lives under ``documents_dir`` at
    ``storage_path`` (derived from tenant, claim and SHA-256, never from the client's name)."""

    __tablename__ = "materials_documents"
    __table_args__ = (Index("ix_materials_documents_claim_item", "tenant_id", "claim_id", "item_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    item_code: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    audit_seq: Mapped[int] = mapped_column(BigInteger)
