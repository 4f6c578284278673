"""Lookup state kept in the database so that every app process agrees: failure counters and lockouts
(per claim number and per client address), and the one-time codes sent by SMS (hashes only)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class LookupThrottle(Base):
    """Failures of one key within a window, and the lock they caused.

    Not tenant-scoped on purpose: an unknown claim number is throttled exactly like a known one (so a
    lock reveals nothing), and a client address spans insurers. ``key_hash`` is a keyed HMAC of
    (insurer, claim number) or of the address: neither is stored in clear.
    """

    __tablename__ = "lookup_throttles"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # claim | ip | otp | otp_ip
    key_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True)


class LookupCode(TenantScoped, Base):
    """A one-time code sent by SMS: only its keyed hash, expiry, attempts and when it was used."""

    __tablename__ = "lookup_codes"
    __table_args__ = (Index("ix_lookup_codes_claim", "tenant_id", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
