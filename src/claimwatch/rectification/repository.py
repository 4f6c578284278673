"""Rectification queries (tenant-scoped by the session: another insurer's rows are never seen)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.rectification.models import (
    Rectification,
    RectificationEvent,
    RectificationEvidence,
)


def get(session: Session, rectification_id: int) -> Rectification | None:
    return session.execute(select(Rectification).where(Rectification.id == rectification_id)).scalar_one_or_none()


def by_source(session: Session, tenant_id: int, source_kind: str, source_id: int) -> Rectification | None:
    statement = select(Rectification).where(
        Rectification.tenant_id == tenant_id,
        Rectification.source_kind == source_kind,
        Rectification.source_id == source_id,
    )
    return session.execute(statement).scalar_one_or_none()


def numbers_in_year(session: Session, tenant_id: int, prefix: str) -> int:
    """How many numbers with ``prefix`` (``ZG-2026-``) the tenant has used (the caller holds its chain)."""
    statement = select(func.count()).where(
        Rectification.tenant_id == tenant_id, Rectification.number.like(f"{prefix}%")
    )
    return int(session.execute(statement).scalar_one())


def events(session: Session, rectification_id: int) -> list[RectificationEvent]:
    statement = (
        select(RectificationEvent)
        .where(RectificationEvent.rectification_id == rectification_id)
        .order_by(RectificationEvent.at, RectificationEvent.id)
    )
    return list(session.execute(statement).scalars())


def evidence(session: Session, rectification_id: int) -> list[RectificationEvidence]:
    statement = (
        select(RectificationEvidence)
        .where(RectificationEvidence.rectification_id == rectification_id)
        .order_by(RectificationEvidence.uploaded_at, RectificationEvidence.id)
    )
    return list(session.execute(statement).scalars())


def evidence_item(session: Session, rectification_id: int, evidence_id: int) -> RectificationEvidence | None:
    statement = select(RectificationEvidence).where(
        RectificationEvidence.rectification_id == rectification_id, RectificationEvidence.id == evidence_id
    )
    return session.execute(statement).scalar_one_or_none()


def evidence_with_hash(session: Session, rectification_id: int, step: str, sha256: str) -> RectificationEvidence | None:
    statement = select(RectificationEvidence).where(
        RectificationEvidence.rectification_id == rectification_id,
        RectificationEvidence.step == step,
        RectificationEvidence.sha256 == sha256,
    )
    return session.execute(statement).scalar_one_or_none()


# -- the sweep ----------------------------------------------------------------------------------------


def by_ids(session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, Rectification]:
    wanted = sorted(set(ids))
    found: dict[int, Rectification] = {}
    for start in range(0, len(wanted), 500):
        statement = select(Rectification).where(
            Rectification.tenant_id == tenant_id, Rectification.id.in_(wanted[start : start + 500])
        )
        for rectification in session.execute(statement).scalars():
            found[rectification.id] = rectification
    return found
