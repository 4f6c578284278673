"""What the evidence pages show (read models): a tenant's signed tree heads with the witness's verdict on
each, its keys, the size of its tree; the regulator's overview of every insurer's standing at the witness,
alarms first; and the regulator's inbox section of alarms (``evidence.work``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from claimwatch.evidence import witness
from claimwatch.evidence.models import EvidenceSigningKey, EvidenceTreeHead, EvidenceTreeState, WitnessedHead
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.web.i18n import N_, translate

RECENT_HEADS = 50
NOT_WITNESSED = "not_witnessed"
STATUS_LABELS: dict[str, str] = {
    witness.FIRST: N_("Witnessed (first head)"),
    witness.CONSISTENT: N_("Witnessed, consistent"),
    witness.BAD_SIGNATURE: N_("Bad signature"),
    witness.INCONSISTENT: N_("Inconsistent: history rewritten"),
    NOT_WITNESSED: N_("Not witnessed yet"),
}
REASON_LABELS: dict[str, str] = {
    "hourly": N_("hourly"),
    "seal": N_("at a seal"),
    "receipt": N_("for a receipt"),
    "manual": N_("by hand"),
}
STATUS_ORDER = {witness.INCONSISTENT: 0, witness.BAD_SIGNATURE: 1, NOT_WITNESSED: 2, witness.FIRST: 3}


def status_label(status: str, locale: str) -> str:
    return translate(locale, STATUS_LABELS.get(status, status))


def _witnessed(copy: WitnessedHead | None, locale: str) -> dict[str, Any]:
    status = copy.status if copy is not None else NOT_WITNESSED
    return {
        "status": status,
        "label": status_label(status, locale),
        "alarm": status in witness.ALARMS,
        "tree_size": copy.tree_size if copy else None,
        "root_hash": copy.root_hash if copy else None,
        "signed_at": copy.signed_at if copy else None,
        "received_at": copy.received_at if copy else None,
        "compared_with_size": copy.compared_with_size if copy else None,
        "problem": copy.problem if copy else None,
        "witness_key_id": copy.witness_key_id if copy else None,
    }


def _keys(session: Session, tenant_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(EvidenceSigningKey)
        .where(or_(EvidenceSigningKey.tenant_id == tenant_id, EvidenceSigningKey.tenant_id.is_(None)))
        .order_by(EvidenceSigningKey.tenant_id.is_(None), EvidenceSigningKey.created_at.desc())
    ).scalars()
    return [
        {
            "key_id": key.key_id,
            "public_key": key.public_key,
            "platform": key.tenant_id is None,
            "created_at": key.created_at,
            "retired_at": key.retired_at,
        }
        for key in rows
    ]


def tenant_view(session: Session, tenant_id: int, locale: str, limit: int = RECENT_HEADS) -> dict[str, Any]:
    """One insurer's evidence: its newest heads, each with the witness's verdict on that very head (same
    size, root and signature), the newest verdict, its keys and the platform's, and its tree's size."""
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    assert tenant is not None
    heads = list(
        session.execute(
            select(EvidenceTreeHead)
            .where(EvidenceTreeHead.tenant_id == tenant_id)
            .order_by(EvidenceTreeHead.signed_at.desc(), EvidenceTreeHead.id.desc())
            .limit(limit)
        ).scalars()
    )
    copies: dict[tuple[int, str, str], WitnessedHead] = {}
    if heads:
        for copy in session.execute(
            select(WitnessedHead).where(
                WitnessedHead.tenant_id == tenant_id,
                WitnessedHead.signature.in_([head.signature for head in heads]),
            )
        ).scalars():
            copies.setdefault((copy.tree_size, copy.root_hash, copy.signature), copy)
    newest = session.execute(
        select(WitnessedHead).where(WitnessedHead.tenant_id == tenant_id).order_by(WitnessedHead.id.desc()).limit(1)
    ).scalar_one_or_none()
    size = session.execute(
        select(EvidenceTreeState.tree_size).where(EvidenceTreeState.tenant_id == tenant_id)
    ).scalar_one_or_none()
    return {
        "code": tenant.code,
        "name": tenant.name,
        "tree_size": size or 0,
        "witness": _witnessed(newest, locale),
        "heads": [
            {
                "id": head.id,
                "tree_size": head.tree_size,
                "root_hash": head.root_hash,
                "signed_at": head.signed_at,
                "key_id": head.key_id,
                "reason": head.reason,
                "reason_label": translate(locale, REASON_LABELS.get(head.reason, head.reason)),
                "witness": _witnessed(copies.get((head.tree_size, head.root_hash, head.signature)), locale),
            }
            for head in heads
        ],
        "keys": _keys(session, tenant_id),
    }


def overview(session: Session, locale: str) -> list[dict[str, Any]]:
    """Every insurer's newest witnessed head and verdict: alarms first, then not yet witnessed, then by code."""
    newest = witness.newest_by_tenant(session)
    rows = []
    for tenant_id, code, name in tenancy_repository.tenant_codes_and_names(session):
        view = _witnessed(newest.get(tenant_id), locale)
        rows.append({"tenant_id": tenant_id, "code": code, "name": name, **view})
    rows.sort(key=lambda row: (STATUS_ORDER.get(row["status"], 9), row["code"]))
    return rows


def alarms(session: Session, locale: str) -> list[dict[str, Any]]:
    """The insurers whose newest witnessed head failed the witness's check (the regulator's inbox)."""
    return [row for row in overview(session, locale) if row["alarm"]]
