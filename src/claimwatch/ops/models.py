"""Counters the operations layer keeps in the database, so that every process's work shows in one /metrics."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class IngestCount(TenantScoped, Base):
    """Case events applied, per tenant and source (``api``: over HTTP; ``import``: the CLI import and other
    batch writers; ``worker``: events the worker writes, e.g. assignment decisions). Incremented in the
    ingesting transaction, so a rolled-back batch counts nothing. Batches of one tenant are written side by side
    on PostgreSQL, so each adds to the row of its ``shard`` (its server process id modulo ``SHARDS``): a single
    row would queue them all behind its lock until they commit. Readers sum the shards."""

    __tablename__ = "ingest_counts"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "shard"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    shard: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
