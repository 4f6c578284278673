"""Evidence receipts (存证, DESIGN M16): a Merkle tree in the style of Certificate Transparency (RFC 6962/9162)
over each tenant's audit entries, signed tree heads (Ed25519), and the supervising platform's copies of them.

Leaf ``i`` of a tenant's tree is audit entry ``seq = i + 1``; its leaf data is the entry's canonical bytes
(``evidence.leaves``), its leaf hash ``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || l || r)``.
The audit chain (``claimwatch.audit``) stays what it was: the per-tenant hash chain with HMAC seals that
only the insurer can check. The tree adds what a third party can check with a public key: an inclusion
proof that an entry is in a signed head, and a consistency proof that a later head extends an earlier one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class EvidenceNode(TenantScoped, Base):
    """The hash of a complete (perfect) subtree: ``level`` 0 is a leaf, level ``k`` covers leaves
    ``[idx * 2**k, (idx + 1) * 2**k)``. Only complete subtrees are stored, so a node never changes once
    written; an incomplete right edge is computed from them when a head or proof needs it."""

    __tablename__ = "evidence_nodes"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class EvidenceTreeState(Base):
    """How many audit entries of a tenant are in its tree (the tree trails the chain until the next append)."""

    __tablename__ = "evidence_tree_states"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class EvidenceSigningKey(Base):
    """An Ed25519 key. ``tenant_id`` set: the insurer's key that signs its tree heads; None: the supervising
    platform's witness key that countersigns the heads it has checked. ``key_id`` is the first 16 hex digits
    of SHA-256 of the raw public key, the name a receipt carries. The private key is stored encrypted
    (``privacy.field_cipher``); a retired key still verifies what it signed."""

    __tablename__ = "evidence_signing_keys"
    __table_args__ = (Index("ix_evidence_signing_keys_tenant", "tenant_id", "retired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    public_key: Mapped[str] = mapped_column(String(64))  # raw 32 bytes, hex
    private_key_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EvidenceTreeHead(TenantScoped, Base):
    """A signed tree head (STH): the root of the first ``tree_size`` leaves at ``signed_at``. ``reason``:
    hourly | seal | receipt | manual. The signature covers ``evidence.heads.signed_bytes`` (tenant code,
    tree size, timestamp in ms, root hash)."""

    __tablename__ = "evidence_tree_heads"
    __table_args__ = (Index("ix_evidence_tree_heads_tenant_size", "tenant_id", "tree_size"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))  # 64 bytes, hex
    reason: Mapped[str] = mapped_column(String(16))


class WitnessedHead(Base):
    """The supervising platform's copy of an insurer's signed tree head (the witness). Written only by the
    witness when it receives a head; ``status``: consistent (signature good and a consistency proof from the
    previous witnessed head checked) | bad_signature | inconsistent (the insurer's history was rewritten) |
    first (nothing earlier to compare). ``problem`` says what failed. The platform countersigns a head it
    accepted (``witness_key_id``, ``witness_signature``), so an insurer can show a third party that its head
    was witnessed."""

    __tablename__ = "evidence_witnessed_heads"
    __table_args__ = (Index("ix_evidence_witnessed_heads_tenant_size", "tenant_id", "tree_size"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    status: Mapped[str] = mapped_column(String(16))
    compared_with_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)
    witness_key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    witness_signature: Mapped[str | None] = mapped_column(String(128), nullable=True)
