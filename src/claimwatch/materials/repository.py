"""Materials queries. Every ORM query here is tenant-filtered by ``claimwatch.db``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.materials.models import MaterialsDocument, MaterialsNotice, MaterialsProfile


def profile(session: Session, claim_id: int, for_update: bool = False) -> MaterialsProfile | None:
    """The claim's profile; ``for_update`` locks its row (PostgreSQL) so notices and uploads of one
    claim are serialised."""
    query = select(MaterialsProfile).where(MaterialsProfile.claim_id == claim_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def notices(session: Session, claim_id: int) -> list[MaterialsNotice]:
    return list(
        session.execute(
            select(MaterialsNotice).where(MaterialsNotice.claim_id == claim_id).order_by(MaterialsNotice.round)
        ).scalars()
    )


def documents(session: Session, claim_id: int) -> list[MaterialsDocument]:
    return list(
        session.execute(
            select(MaterialsDocument)
            .where(MaterialsDocument.claim_id == claim_id)
            .order_by(MaterialsDocument.uploaded_at, MaterialsDocument.id)
        ).scalars()
    )


def received_items(session: Session, claim_id: int) -> set[str]:
    rows = session.execute(
        select(MaterialsDocument.item_code).where(MaterialsDocument.claim_id == claim_id).distinct()
    ).scalars()
    return set(rows)


def document_with_hash(session: Session, claim_id: int, item_code: str, sha256: str) -> MaterialsDocument | None:
    return session.execute(
        select(MaterialsDocument)
        .where(
            MaterialsDocument.claim_id == claim_id,
            MaterialsDocument.item_code == item_code,
            MaterialsDocument.sha256 == sha256,
        )
        .limit(1)
    ).scalar_one_or_none()
