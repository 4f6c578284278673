from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now

BigId = BigInteger().with_variant(Integer(), "sqlite")


class PersonalDataAccess(TenantScoped, Base):
    """One view of a person's data: who (``actor``, ``role``), when, which record of which insurer, through
    which screen or route (``purpose``), and for an unmask the field shown in clear and the reason given.

    Written in the request's transaction (one INSERT); a regulator's read-only view is recorded in a unit of
    work of its own. Never updated: the table only grows."""

    __tablename__ = "personal_data_access"
    __table_args__ = (
        Index("ix_personal_data_access_tenant_at", "tenant_id", "accessed_at"),
        Index("ix_personal_data_access_tenant_record", "tenant_id", "record_ref"),
        Index("ix_personal_data_access_tenant_actor", "tenant_id", "actor", "accessed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    accessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    actor: Mapped[str] = mapped_column(String(100))  # "user:zhang.wei" or "api_key:core-sys"
    role: Mapped[str] = mapped_column(String(32))
    record_kind: Mapped[str] = mapped_column(String(16))  # claim | complaint | export
    record_ref: Mapped[str] = mapped_column(String(200))  # the claim or complaint number, or what was exported
    purpose: Mapped[str] = mapped_column(String(32))  # claim_page | claim_api | … | unmask
    field: Mapped[str | None] = mapped_column(String(16), nullable=True)  # unmask: phone | id_number
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)  # unmask: why, as given
