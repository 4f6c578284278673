"""Risk queries: scores, model versions, reviews and the labelled history a model is trained on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.risk.models import RiskModel, RiskReview, RiskScore


def active_model(session: Session) -> RiskModel | None:
    return session.scalars(select(RiskModel).where(RiskModel.status == "active")).first()


def active_model_key(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(RiskModel.id, RiskModel.digest).where(RiskModel.status == "active")).first()
    return (row[0], row[1]) if row else None


_SCORES = cast(Table, RiskScore.__table__)
# Built once, executed on the session's connection: a re-score at ingestion is one row, where building the
# statement and the ORM's execute path cost more than the insert.
_INSERT_SCORES = insert(_SCORES)
_INSERT_SCORES_RETURNING = insert(_SCORES).returning(_SCORES.c.id, sort_by_parameter_order=True)


def insert_scores(session: Session, rows: list[dict[str, Any]], *, returning: bool) -> list[int] | None:
    """Score rows by one Core INSERT (rows carry ``tenant_id``); their ids in order when ``returning``."""
    if not rows:
        return [] if returning else None
    session.flush()  # as the session's own execute would (autoflush): a clean session costs nothing here
    connection = session.connection()
    if not returning:
        connection.execute(_INSERT_SCORES, rows)
        return None
    return [int(row[0]) for row in connection.execute(_INSERT_SCORES_RETURNING, rows)]


def model_by_id(session: Session, model_id: int) -> RiskModel | None:
    return session.get(RiskModel, model_id)


def model_by_version(session: Session, version: int) -> RiskModel | None:
    return session.scalars(select(RiskModel).where(RiskModel.version == version)).first()


def models(session: Session) -> list[RiskModel]:
    return list(session.scalars(select(RiskModel).order_by(RiskModel.version.desc())))


def next_model_version(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(RiskModel.version), 0))) or 0) + 1


def latest_score(session: Session, claim_id: int) -> RiskScore | None:
    return session.scalars(
        select(RiskScore).where(RiskScore.claim_id == claim_id).order_by(RiskScore.id.desc()).limit(1)
    ).first()


def scores_of_claim(session: Session, claim_id: int, limit: int = 20) -> list[RiskScore]:
    query = select(RiskScore).where(RiskScore.claim_id == claim_id).order_by(RiskScore.id.desc()).limit(limit)
    return list(session.scalars(query))


def open_review_claims(session: Session, claim_ids: Sequence[int]) -> set[int]:
    if not claim_ids:
        return set()
    rows = session.scalars(select(RiskReview.open_claim).where(RiskReview.open_claim.in_(list(claim_ids))))
    return {int(r) for r in rows if r is not None}


def review_by_id(session: Session, review_id: int) -> RiskReview | None:
    return session.get(RiskReview, review_id)


def reviews(
    session: Session, *, statuses: Sequence[str] | None = None, assigned_user_id: int | None = None, limit: int = 200
) -> list[tuple[RiskReview, Claim]]:
    query = select(RiskReview, Claim).join(Claim, Claim.id == RiskReview.claim_id)
    if statuses:
        query = query.where(RiskReview.status.in_(list(statuses)))
    if assigned_user_id is not None:
        query = query.where(RiskReview.assigned_user_id == assigned_user_id)
    query = query.order_by(RiskReview.score.desc(), RiskReview.id).limit(limit)
    return [(r, c) for r, c in session.execute(query)]


def reviews_of_claim(session: Session, claim_id: int) -> list[RiskReview]:
    return list(session.scalars(select(RiskReview).where(RiskReview.claim_id == claim_id).order_by(RiskReview.id)))


def _mine_or_unassigned(query: Any, user_id: int) -> Any:
    return query.where(RiskReview.status.in_(("open", "investigating"))).where(
        or_(RiskReview.assigned_user_id == user_id, RiskReview.assigned_user_id.is_(None))
    )


def count_waiting(session: Session, user_id: int) -> int:
    """Open reviews assigned to the user or to nobody."""
    return int(session.scalar(_mine_or_unassigned(select(func.count()).select_from(RiskReview), user_id)) or 0)


def waiting(session: Session, user_id: int, limit: int, offset: int) -> list[tuple[RiskReview, str]]:
    query = _mine_or_unassigned(select(RiskReview, Claim.number).join(Claim, Claim.id == RiskReview.claim_id), user_id)
    query = query.order_by(RiskReview.score.desc(), RiskReview.id).limit(limit).offset(offset)
    return [(review, number) for review, number in session.execute(query)]


def labelled_history(session: Session) -> list[tuple[int, dt.datetime, int, dict[str, Any]]]:
    """(claim id, reported at, label, inputs of the claim's first score) for every claim with a label; the
    latest decided review gives the label."""
    last_label = (
        select(RiskReview.claim_id, func.max(RiskReview.id).label("review_id"))
        .where(RiskReview.label.is_not(None))
        .group_by(RiskReview.claim_id)
        .subquery()
    )
    first_score = (
        select(RiskScore.claim_id, func.min(RiskScore.id).label("score_id")).group_by(RiskScore.claim_id).subquery()
    )
    query = (
        select(Claim.id, Claim.reported_at, RiskReview.label, RiskScore.inputs)
        .join(last_label, last_label.c.claim_id == Claim.id)
        .join(RiskReview, RiskReview.id == last_label.c.review_id)
        .join(first_score, first_score.c.claim_id == Claim.id)
        .join(RiskScore, RiskScore.id == first_score.c.score_id)
        .order_by(Claim.reported_at, Claim.id)
    )
    return [(int(i), at, int(label), inputs) for i, at, label, inputs in session.execute(query)]


def label_counts(session: Session) -> tuple[int, int]:
    """(labelled claims, of which fraud confirmed)."""
    rows = session.execute(
        select(RiskReview.label, func.count(func.distinct(RiskReview.claim_id)))
        .where(RiskReview.label.is_not(None))
        .group_by(RiskReview.label)
    )
    counts = {int(label or 0): int(n) for label, n in rows}
    return counts.get(0, 0) + counts.get(1, 0), counts.get(1, 0)
