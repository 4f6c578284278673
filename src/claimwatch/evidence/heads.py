"""Signed tree heads (STH): the root of the first ``tree_size`` leaves of a tenant's evidence tree, signed
with the tenant's Ed25519 key (``evidence.keys``).

What the signature covers is :func:`signed_bytes`, a fixed byte layout (FROZEN: changing it invalidates
every signed head and receipt)::

    b"claimwatch-sth-v1\\n"                       18 bytes, the context (nothing else signed starts so)
    len(tenant code as UTF-8)                     1 byte
    tenant code as UTF-8                          1..255 bytes
    tree_size                                     8 bytes, unsigned big-endian
    signed_at in milliseconds since 1970-01-01 UTC 8 bytes, unsigned big-endian
    root hash                                     32 bytes

A head's ``signed_at`` is kept to the millisecond (what is signed); receipts and the API write it as ISO
8601 in UTC with milliseconds (:func:`format_signed_at`). ``reason``: hourly | seal (at an audit
checkpoint's size) | receipt (asked for by a receipt no earlier head covered) | manual.
"""

from __future__ import annotations

import datetime as dt
import struct

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.evidence import keys, store
from claimwatch.evidence.models import EvidenceSigningKey, EvidenceTreeHead
from claimwatch.tenancy import repository as tenancy_repository

CONTEXT = b"claimwatch-sth-v1\n"
HEAD_SIGNED_KIND = "evidence.head_signed"
HOURLY, SEAL, RECEIPT, MANUAL = "hourly", "seal", "receipt", "manual"
REASONS = (HOURLY, SEAL, RECEIPT, MANUAL)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


class HeadError(Invalid):
    """A tree head that does not verify; ``field`` names what failed (``signature``, ``key_id``, …)."""


def to_millis(at: dt.datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("signed_at must be timezone-aware")
    return (at - _EPOCH) // _MS


def truncate_to_millis(at: dt.datetime) -> dt.datetime:
    return _EPOCH + to_millis(at) * _MS


def format_signed_at(at: dt.datetime) -> str:
    """``2026-11-20T01:30:00.123Z``: UTC, milliseconds (exactly what the signature covers)."""
    return truncate_to_millis(at).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_signed_at(text: str) -> dt.datetime:
    """The inverse of :func:`format_signed_at`; ``ValueError`` for anything else (a receipt's field)."""
    at = dt.datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("signed_at has no time zone")
    if format_signed_at(at) != text:
        raise ValueError("signed_at is not UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ)")
    return at


def signed_bytes(tenant_code: str, tree_size: int, signed_at: dt.datetime, root_hash: str | bytes) -> bytes:
    """The bytes a head's signature covers (the layout above). ``root_hash`` as 32 bytes or 64 hex digits."""
    code = tenant_code.encode()
    if not 1 <= len(code) <= 255:
        raise ValueError("a tenant code is 1 to 255 bytes of UTF-8")
    root = bytes.fromhex(root_hash) if isinstance(root_hash, str) else root_hash
    if len(root) != 32:
        raise ValueError("a root hash is 32 bytes")
    millis = to_millis(signed_at)
    if not 0 <= tree_size < 1 << 64 or not 0 <= millis < 1 << 64:
        raise ValueError("a tree size and a time since 1970 fit 8 bytes")
    return CONTEXT + bytes([len(code)]) + code + struct.pack(">QQ", tree_size, millis) + root


def signature_valid(
    public_key: str | bytes, tenant_code: str, tree_size: int, signed_at: dt.datetime, root_hash: str, signature: str
) -> bool:
    """Offline check of a head's signature with a public key (raw, as bytes or hex)."""
    raw = bytes.fromhex(public_key) if isinstance(public_key, str) else public_key
    try:
        message = signed_bytes(tenant_code, tree_size, signed_at, root_hash)
        sig = bytes.fromhex(signature)
    except ValueError:
        return False
    return keys.verify_signature(raw, sig, message)


# --- the database side --------------------------------------------------------------------------------------


def tenant_code(session: Session, tenant_id: int) -> str:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    if tenant is None:
        raise Invalid("tenant", f"no insurer with id {tenant_id}")
    return tenant.code


def sign_head(
    session: Session,
    tenant_id: int,
    reason: str,
    *,
    size: int | None = None,
    actor: str = "system:evidence",
    now: dt.datetime | None = None,
) -> EvidenceTreeHead:
    """Append the audit entries not yet in the tree, then sign the root of ``size`` leaves (default: the
    whole tree) with the tenant's key and store the head; the signing is recorded in the tenant's chain
    (as the entry after the tree, so the next head covers it)."""
    if reason not in REASONS:
        raise Invalid("reason", f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    audit_service.open_chain(session, tenant_id)  # chain first, then the tree's state: one lock order
    key = keys.signing_key(session, tenant_id, actor)
    tree_size = store.append(session, tenant_id)
    size = tree_size if size is None else size
    if not 0 <= size <= tree_size:
        raise Invalid("size", f"tree size {size} is not between 0 and the tree's {tree_size} leaves")
    root = store.root(session, tenant_id, size).hex()
    signed_at = truncate_to_millis(now or utc_now())
    code = tenant_code(session, tenant_id)
    head = EvidenceTreeHead(
        tenant_id=tenant_id,
        tree_size=size,
        root_hash=root,
        signed_at=signed_at,
        key_id=key.key_id,
        signature=keys.sign_with(key, signed_bytes(code, size, signed_at, root)),
        reason=reason,
    )
    session.add(head)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        HEAD_SIGNED_KIND,
        f"evidence_head:{size}",
        actor,
        {
            "tree_size": size,
            "root_hash": root,
            "signed_at": format_signed_at(signed_at),
            "key_id": key.key_id,
            "signature": head.signature,
            "reason": reason,
        },
    )
    return head


def verify_head(session: Session, head: EvidenceTreeHead) -> EvidenceSigningKey:
    """Check a stored (or received) head: its key is known, is the tenant's and was not retired before the
    head was signed, and the signature covers the head. Raises :class:`HeadError` naming what failed;
    returns the key."""
    key = keys.by_key_id(session, head.key_id)
    if key is None:
        raise HeadError("key_id", f"unknown signing key {head.key_id!r}")
    if key.tenant_id != head.tenant_id:
        raise HeadError("key_id", f"key {head.key_id} is not this insurer's signing key")
    if key.retired_at is not None and head.signed_at > key.retired_at:
        raise HeadError(
            "key_id", f"key {head.key_id} was retired at {key.retired_at.isoformat()}, before the head was signed"
        )
    code = tenant_code(session, head.tenant_id)
    if not signature_valid(key.public_key, code, head.tree_size, head.signed_at, head.root_hash, head.signature):
        raise HeadError(
            "signature",
            f"the signature of the head of size {head.tree_size} signed at {format_signed_at(head.signed_at)} "
            f"does not verify with key {head.key_id}",
        )
    return key


# --- reading ------------------------------------------------------------------------------------------------


def newest(session: Session, tenant_id: int) -> EvidenceTreeHead | None:
    """The head of the largest tree (the latest signed among equals)."""
    return session.execute(
        select(EvidenceTreeHead)
        .where(EvidenceTreeHead.tenant_id == tenant_id)
        .order_by(EvidenceTreeHead.tree_size.desc(), EvidenceTreeHead.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def at_size(session: Session, tenant_id: int, size: int) -> EvidenceTreeHead | None:
    """The latest head signed at exactly ``size`` leaves."""
    return session.execute(
        select(EvidenceTreeHead)
        .where(EvidenceTreeHead.tenant_id == tenant_id, EvidenceTreeHead.tree_size == size)
        .order_by(EvidenceTreeHead.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def covering(session: Session, tenant_id: int, seq: int, *, sign_if_missing: bool = True) -> EvidenceTreeHead | None:
    """The newest head that covers entry ``seq`` (tree_size ≥ seq); if none does, a new one signed now with
    reason ``receipt`` (``sign_if_missing``; a read-only session gets None instead)."""
    found = newest(session, tenant_id)
    if found is not None and found.tree_size >= seq:
        return found
    if not sign_if_missing:
        return None
    return sign_head(session, tenant_id, RECEIPT)
