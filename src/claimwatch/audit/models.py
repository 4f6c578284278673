from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class AuditEntry(TenantScoped, Base):
    """One link of a tenant's hash chain.

    ``hash = sha256(prev_hash | seq | kind | content_hash)``. For a case event the content is the
    event row itself (so editing the event row breaks the chain); for anything else the content is
    ``payload``, stored here.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditHead(Base):
    """The tip of each tenant's chain; its row lock serialises writers so the chain cannot fork."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    checkpoint_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditAllocator(Base):
    """The next free sequence number of a tenant's chain. Concurrent writers (PostgreSQL ingestion) take blocks
    from it in a short transaction of their own, so none holds it while its batch is written."""

    __tablename__ = "audit_allocators"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    next_seq: Mapped[int] = mapped_column(BigInteger)


class AuditBlock(Base):
    """Sequence numbers ``first_seq..last_seq`` handed to one concurrent writer.

    Recorded ``open`` when allocated (committed at once, with the counter); the writer's own transaction marks it
    ``written`` up to ``filled_seq`` with the hash of its last entry (``last_hash``). Inside a block entries are
    chained from ``hashing.block_anchor(first_seq)``; the linker (under the head lock, in sequence order) turns an
    unused tail or a rolled-back block into ``audit.void`` entries, then chains the block into the tenant's chain:
    ``link_hash = hashing.link_hash(previous, first_seq, last_seq, last_hash)`` becomes the head's hash."""

    __tablename__ = "audit_blocks"
    __table_args__ = (UniqueConstraint("tenant_id", "first_seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8))  # open | written | linked
    filled_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    link_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    voided: Mapped[int] = mapped_column(Integer, default=0)
    allocated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditCheckpoint(Base):
    """A signed seal of the chain at ``seq``: a later chain shorter than a seal was truncated."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_tenant_seq", "tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    signature: Mapped[str] = mapped_column(String(64))


class AuditArchive(Base):
    """A month of the chain moved out of the database (``claimwatch partitions archive``, PostgreSQL): entries
    ``first_seq``..``last_seq`` are in the archive file named here, whose manifest (SHA-256 ``manifest_sha256``)
    carries their hashes and the evidence tree head covering them (``tree_size``, ``tree_root``). Verification
    starts after the newest boundary, from ``last_hash``; the archiving itself is an entry of the chain."""

    __tablename__ = "audit_archives"
    __table_args__ = (Index("ix_audit_archives_tenant_seq", "tenant_id", "last_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM (UTC), the partition's month
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(BigInteger)
    archive: Mapped[str] = mapped_column(String(500))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    tree_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tree_root: Mapped[str | None] = mapped_column(String(64), nullable=True)
    archived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
