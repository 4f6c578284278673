"""What the risk API shows: a claim's scores with their reasons, the review queue, model versions and cards."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from claimwatch.risk import repository
from claimwatch.risk.models import RiskModel, RiskReview, RiskScore


def score_view(score: RiskScore, model_version: int | None) -> dict[str, Any]:
    return {
        "id": score.id,
        "scored_at": score.scored_at.isoformat(),
        "trigger": score.trigger,
        "score": score.score,
        "level": score.level,
        "points": score.points,
        "probability": score.probability,
        "model_version": model_version,
        "flags": score.flags,
        "contributions": score.contributions or [],
    }


def review_view(review: RiskReview, claim_number: str) -> dict[str, Any]:
    return {
        "id": review.id,
        "claim_number": claim_number,
        "score": review.score,
        "level": review.level,
        "reasons": review.reasons,
        "model_version": review.model_version,
        "status": review.status,
        "assigned_user_id": review.assigned_user_id,
        "decision": review.decision,
        "decision_reason": review.decision_reason,
        "decided_by": review.decided_by,
        "decided_at": review.decided_at.isoformat() if review.decided_at else None,
        "label": review.label,
        "created_at": review.created_at.isoformat(),
    }


def _versions(session: Session) -> dict[int, int]:
    return {m.id: m.version for m in repository.models(session)}


def claim_risk(session: Session, claim_id: int, claim_number: str) -> dict[str, Any]:
    versions = _versions(session)
    scores = repository.scores_of_claim(session, claim_id)
    views = [score_view(s, versions.get(s.model_id) if s.model_id else None) for s in scores]
    return {
        "claim_number": claim_number,
        "latest": views[0] if views else None,
        "history": views,
        "reviews": [review_view(r, claim_number) for r in repository.reviews_of_claim(session, claim_id)],
    }


def review_queue(
    session: Session, statuses: list[str] | None, assigned_user_id: int | None, limit: int = 200
) -> list[dict[str, Any]]:
    return [
        review_view(review, claim.number)
        for review, claim in repository.reviews(
            session, statuses=statuses, assigned_user_id=assigned_user_id, limit=limit
        )
    ]


def model_view(model: RiskModel, *, card: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": model.version,
        "kind": model.kind,
        "status": model.status,
        "features": model.features,
        "window_from": model.window_from.isoformat(),
        "window_until": model.window_until.isoformat(),
        "holdout_from": model.holdout_from.isoformat(),
        "labels": model.labels,
        "positives": model.positives,
        "holdout_auc": model.metrics.get("holdout_auc"),
        "holdout_brier": model.metrics.get("holdout_brier"),
        "digest": model.digest,
        "created_at": model.created_at.isoformat(),
        "created_by": model.created_by,
        "activated_at": model.activated_at.isoformat() if model.activated_at else None,
    }
    if card:
        out["card"] = model.card
    return out


def models(session: Session) -> list[dict[str, Any]]:
    return [model_view(m) for m in repository.models(session)]
