"""The leaf data of a tenant's evidence tree: one audit entry as canonical bytes.

FROZEN like ``audit.hashing``: changing the keys, their spelling or the serialisation changes every leaf hash
and so every signed tree head and receipt. Leaf ``i`` is audit entry ``seq = i + 1``; its data is the canonical
JSON (``audit.hashing.canonical_json``: sorted keys, no spaces, UTF-8) of exactly these keys::

    {"content_hash": <64 hex>, "kind": <str>, "recorded_at": <ISO 8601 UTC, microseconds>,
     "seq": <int>, "subject": <str>, "tenant": <tenant code>}

``content_hash`` is the hash the audit chain commits to: SHA-256 of the payload text for entries that carry
their content, the row hash of the registered ``audit.service.ContentSource`` (case events) otherwise. The
tree is appended from the chain's stored ``content_hash``; :func:`fresh_content_hashes` recomputes it from
the stored data, so a receipt built after a stored row was edited no longer matches the signed tree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

import claimwatch.cases.service  # noqa: F401 - registers the case-event content source
from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, format_timestamp, sha256_hex
from claimwatch.audit.models import AuditEntry
from claimwatch.tenancy.models import Tenant

LEAF_KEYS = ("content_hash", "kind", "recorded_at", "seq", "subject", "tenant")

# Columns of an audit entry the leaf needs (no payload: appending reads only these).
ENTRY_COLUMNS = (AuditEntry.seq, AuditEntry.kind, AuditEntry.subject, AuditEntry.content_hash, AuditEntry.recorded_at)


def leaf_data(
    tenant_code: str, seq: int, kind: str, subject: str, content_hash: str, recorded_at: dt.datetime
) -> bytes:
    return canonical_json(
        {
            "content_hash": content_hash,
            "kind": kind,
            "recorded_at": format_timestamp(recorded_at),
            "seq": seq,
            "subject": subject,
            "tenant": tenant_code,
        }
    ).encode()


def entry_leaf_data(entry: AuditEntry, tenant_code: str, content_hash: str | None = None) -> bytes:
    """The leaf data of ``entry``; ``content_hash`` overrides the chain's (a freshly recomputed one)."""
    return leaf_data(
        tenant_code,
        entry.seq,
        entry.kind,
        entry.subject,
        entry.content_hash if content_hash is None else content_hash,
        entry.recorded_at,
    )


def parse_leaf_data(data: bytes) -> dict[str, object]:
    """The fields of leaf data, checking it is exactly the canonical form (a receipt's ``leaf.data``)."""
    import json

    try:
        value = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"leaf data is not JSON: {exc}") from None
    if not isinstance(value, dict) or tuple(sorted(value)) != LEAF_KEYS:
        raise ValueError(f"leaf data must have exactly the keys {', '.join(LEAF_KEYS)}")
    if canonical_json(value).encode() != data:
        raise ValueError("leaf data is not in canonical form")
    return value


def tenant_code(session: Session, tenant_id: int) -> str:
    return session.execute(select(Tenant.code).where(Tenant.id == tenant_id)).scalar_one()


def content_hashes_from_rows(
    session: Session, tenant_id: int, rows: Sequence[tuple[int, str, str | None]]
) -> dict[int, str]:
    """Recomputed content hashes of ``(seq, kind, payload)`` rows (one contiguous page of the chain): the
    registered content sources for kinds whose rows live elsewhere, SHA-256 of the payload otherwise. A row
    deleted from its own table has no entry in the result."""
    if not rows:
        return {}
    first_seq, last_seq = rows[0][0], rows[-1][0]
    sources = audit_service.content_sources()
    kinds = {kind for _, kind, _ in rows}
    stored = {
        kind: source.content_hashes(session, tenant_id, first_seq, last_seq)
        for kind, source in sources.items()
        if kind in kinds
    }
    result: dict[int, str] = {}
    for seq, kind, payload in rows:
        if kind in stored:
            value = stored[kind].get(seq)
            if value is not None:
                result[seq] = value
        else:
            result[seq] = sha256_hex(payload or "")
    return result


def fresh_content_hashes(session: Session, tenant_id: int, first_seq: int, last_seq: int) -> dict[int, str]:
    """``{seq: content hash}`` for the entries ``first_seq..last_seq`` recomputed from the stored data (the
    payload, or the row of a registered content source: case events). A seq whose row was deleted is
    missing from the result."""
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.kind, AuditEntry.payload)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq.between(first_seq, last_seq))
        .order_by(AuditEntry.seq),
        execution_options={"include_all_tenants": True},
    ).all()
    return content_hashes_from_rows(session, tenant_id, [(row[0], row[1], row[2]) for row in rows])
