"""Counters the operations layer keeps in the database, so that every process's work shows in one /metrics."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class IngestCount(TenantScoped, Base):
    """Case events applied, per tenant and source (``api``: over HTTP; ``import``: the CLI import and other
    batch writers; ``worker``: events the worker writes, e.g. assignment decisions). Incremented in the
    ingesting transaction, so a rolled-back batch counts nothing; the per-tenant row adds no lock that the
    tenant's audit chain does not already hold."""

    __tablename__ = "ingest_counts"
    __table_args__ = (UniqueConstraint("tenant_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
