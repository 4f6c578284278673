"""Queries of the evidence service: which audit entries belong to a claim, the entries themselves, heads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from claimwatch.cases.models import CaseEvent
from claimwatch.evidence.models import EvidenceTreeHead
from claimwatch.materials.models import MaterialsDocument

_ALL = {"include_all_tenants": True}


def claim_entry_seqs(session: Session, tenant_id: int, claim_id: int, number: str, kinds: Sequence[str]) -> list[int]:
    """The claim's audit entries: its case events (by the event rows) and the entries of ``kinds`` whose
    subject is the claim number (document fingerprints, materials notices), in seq order."""
    events = session.execute(
        select(CaseEvent.audit_seq).where(CaseEvent.tenant_id == tenant_id, CaseEvent.claim_id == claim_id)
    ).scalars()
    others = session.execute(
        select(AuditEntry.seq).where(
            AuditEntry.tenant_id == tenant_id, AuditEntry.subject == number, AuditEntry.kind.in_(list(kinds))
        ),
        execution_options=_ALL,
    ).scalars()
    return sorted({*events, *others})


def entries(session: Session, tenant_id: int, seqs: Sequence[int]) -> list[AuditEntry]:
    return list(
        session.execute(
            select(AuditEntry)
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq.in_(list(seqs)))
            .order_by(AuditEntry.seq),
            execution_options=_ALL,
        ).scalars()
    )


def document(session: Session, tenant_id: int, claim_id: int, document_id: int) -> MaterialsDocument | None:
    return session.execute(
        select(MaterialsDocument).where(
            MaterialsDocument.tenant_id == tenant_id,
            MaterialsDocument.claim_id == claim_id,
            MaterialsDocument.id == document_id,
        )
    ).scalar_one_or_none()


def heads(session: Session, tenant_id: int, limit: int, below_size: int | None = None) -> list[EvidenceTreeHead]:
    """The tenant's heads, largest tree first (``below_size``: the next page)."""
    query = select(EvidenceTreeHead).where(EvidenceTreeHead.tenant_id == tenant_id)
    if below_size is not None:
        query = query.where(EvidenceTreeHead.tree_size < below_size)
    return list(
        session.execute(
            query.order_by(EvidenceTreeHead.tree_size.desc(), EvidenceTreeHead.id.desc()).limit(limit)
        ).scalars()
    )


def chain_size(session: Session, tenant_id: int) -> int:
    size = session.execute(
        select(AuditHead.seq).where(AuditHead.tenant_id == tenant_id), execution_options=_ALL
    ).scalar_one_or_none()
    return size or 0


def last_entry_kind(session: Session, tenant_id: int, seq: int) -> str | None:
    return session.execute(
        select(AuditEntry.kind).where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq == seq),
        execution_options=_ALL,
    ).scalar_one_or_none()


def checkpoint_sizes_above(session: Session, tenant_id: int, size: int) -> list[int]:
    """The seqs of the audit checkpoints (seals) past ``size``, in order."""
    return list(
        session.execute(
            select(AuditCheckpoint.seq)
            .where(AuditCheckpoint.tenant_id == tenant_id, AuditCheckpoint.seq > size)
            .order_by(AuditCheckpoint.seq),
            execution_options=_ALL,
        ).scalars()
    )
