"""Ed25519 signing keys for tree heads: one active key per insurer (``tenant_id``), and the supervising
platform's witness key (``tenant_id=None``), each created on first need.

The private key is stored encrypted (``privacy.field_cipher``, AES-GCM under the deployment's secret); the
public key is public (``GET /api/v1/evidence/keys``). ``key_id`` is the first 16 hex digits of SHA-256 of the
raw 32-byte public key: what a tree head and a receipt name. Rotating retires the active key (it still
verifies what it signed before ``retired_at``) and creates a new one; a tenant's rotation is audited in its
chain. The pure functions (:func:`key_id_of`, :func:`verify_signature`) need no database: the offline
receipt verifier uses them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.db import utc_now
from claimwatch.errors import Conflict
from claimwatch.evidence.models import EvidenceSigningKey
from claimwatch.privacy import field_cipher

KEY_CREATED_KIND = "evidence.key_created"
KEY_ROTATED_KIND = "evidence.key_rotated"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def key_id_of(public_key: bytes) -> str:
    """The name of a key: the first 16 hex digits of SHA-256 of its raw 32 bytes."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key`` (raw bytes)."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_with(key: EvidenceSigningKey, message: bytes) -> str:
    """The hex Ed25519 signature of ``message`` by ``key`` (decrypted for this call only)."""
    if key.retired_at is not None:
        raise Conflict("key_id", f"key {key.key_id} is retired and signs nothing more")
    token = field_cipher().decrypt(key.private_key_enc)
    assert token is not None
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(token))
    return private.sign(message).hex()


def _tenant_filter(tenant_id: int | None) -> ColumnElement[bool]:
    column = EvidenceSigningKey.tenant_id
    return column.is_(None) if tenant_id is None else column == tenant_id


def current_key(session: Session, tenant_id: int | None) -> EvidenceSigningKey | None:
    """The tenant's (None: the platform's) active key, if it has one."""
    return session.execute(
        select(EvidenceSigningKey)
        .where(_tenant_filter(tenant_id), EvidenceSigningKey.retired_at.is_(None))
        .order_by(EvidenceSigningKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def by_key_id(session: Session, key_id: str) -> EvidenceSigningKey | None:
    return session.execute(select(EvidenceSigningKey).where(EvidenceSigningKey.key_id == key_id)).scalar_one_or_none()


def all_keys(session: Session) -> list[EvidenceSigningKey]:
    """Every key, the platform's first, then by tenant and age (the public key list)."""
    return list(
        session.execute(
            select(EvidenceSigningKey).order_by(
                EvidenceSigningKey.tenant_id.is_not(None), EvidenceSigningKey.tenant_id, EvidenceSigningKey.id
            )
        ).scalars()
    )


def _new_key(session: Session, tenant_id: int | None, at: dt.datetime) -> EvidenceSigningKey:
    private = Ed25519PrivateKey.generate()
    public = _raw_public(private)
    key = EvidenceSigningKey(
        key_id=key_id_of(public),
        tenant_id=tenant_id,
        public_key=public.hex(),
        private_key_enc=field_cipher().encrypt(_raw_private(private).hex()),
        created_at=at,
    )
    session.add(key)
    session.flush()
    return key


def _audit(session: Session, tenant_id: int | None, kind: str, actor: str, payload: dict[str, object]) -> None:
    """A tenant's key events go into its chain (which also serialises two creators: the chain head is
    locked first). The platform's key has no chain; its rows are the record."""
    if tenant_id is not None:
        audit_service.record(session, tenant_id, kind, f"evidence_key:{payload['key_id']}", actor, payload)


def signing_key(session: Session, tenant_id: int | None, actor: str = "system:evidence") -> EvidenceSigningKey:
    """The active key, created (and audited) on first need."""
    found = current_key(session, tenant_id)
    if found is not None:
        return found
    if tenant_id is not None:
        audit_service.open_chain(session, tenant_id)  # lock the chain head: one creator at a time
        found = current_key(session, tenant_id)
        if found is not None:
            return found
    key = _new_key(session, tenant_id, utc_now())
    _audit(session, tenant_id, KEY_CREATED_KIND, actor, {"key_id": key.key_id, "public_key": key.public_key})
    return key


def sign(session: Session, tenant_id: int | None, message: bytes) -> tuple[str, str]:
    """``(key_id, hex signature)`` of ``message`` by the tenant's (None: the platform's) active key,
    created on first need."""
    key = signing_key(session, tenant_id)
    return key.key_id, sign_with(key, message)


@dataclass(frozen=True)
class Rotation:
    retired: EvidenceSigningKey | None
    created: EvidenceSigningKey


def rotate(session: Session, tenant_id: int | None, actor: str, reason: str = "") -> Rotation:
    """Retire the active key now and create a new one (audited). Heads signed before stay verifiable."""
    if tenant_id is not None:
        audit_service.open_chain(session, tenant_id)
    at = utc_now()
    old = current_key(session, tenant_id)
    if old is not None:
        old.retired_at = at
        session.flush()
    key = _new_key(session, tenant_id, at)
    _audit(
        session,
        tenant_id,
        KEY_ROTATED_KIND,
        actor,
        {
            "key_id": key.key_id,
            "public_key": key.public_key,
            "retired_key_id": old.key_id if old is not None else None,
            "reason": reason,
        },
    )
    return Rotation(old, key)
