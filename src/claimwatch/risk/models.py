"""Risk (理赔风险预警): every score a claim received, the trained model versions, and the review queue (核查).

A score is red-flag points (the rules in ``defaults/risk/red_flags.yaml``, each with its reason) plus, when
the insurer has an active model, the model's calibrated probability with the features that contributed most.
The claim keeps its latest score and level in its own columns (``claims.risk_score``, ``risk_level``) so
lower domains read them without importing risk; the history is here.

A high score opens a review; the reviewer's decision (fraud_confirmed | cleared) is the label the next model
is trained on (``needs_investigation`` keeps the review open for a final decision).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class RiskScore(TenantScoped, Base):
    """One score of one claim. ``inputs`` holds the facts the flags and the model read (no personal data:
    counts, amounts, days, flags), so a later model can be trained on what was known at the time."""

    __tablename__ = "risk_scores"
    __table_args__ = (
        Index("ix_risk_scores_claim", "claim_id", "id"),
        Index("ix_risk_scores_tenant_scored", "tenant_id", "scored_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    scored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    trigger: Mapped[str] = mapped_column(String(16))  # reported | rescore | batch
    score: Mapped[float] = mapped_column(Float)  # 0–1
    level: Mapped[str] = mapped_column(String(8))  # low | medium | high
    points: Mapped[int] = mapped_column(Integer)  # red-flag points
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)  # the model's, when one is active
    model_id: Mapped[int | None] = mapped_column(ForeignKey("risk_models.id"), nullable=True)
    flags_digest: Mapped[str] = mapped_column(String(64))  # the red-flag set's digest
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{code, points}] fired
    contributions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)  # top features
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)


class RiskModel(TenantScoped, Base):
    """A trained model version. ``params`` is the whole fitted model as numbers (standardisation, coefficients,
    the Platt calibration): nothing is unpickled; ``digest`` is the sha256 of its canonical JSON."""

    __tablename__ = "risk_models"
    __table_args__ = (
        UniqueConstraint("tenant_id", "version"),
        Index(
            "ix_risk_models_one_active",
            "tenant_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # logistic_platt
    status: Mapped[str] = mapped_column(String(16))  # trained | active | retired
    features: Mapped[list[str]] = mapped_column(JSON)
    flags_digest: Mapped[str] = mapped_column(String(64))  # the red-flag set it was trained with
    window_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # earliest claim reported
    window_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # latest claim reported
    holdout_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # claims reported from here: hold-out
    labels: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)  # auc, brier, reliability bins, base rate…
    card: Mapped[dict[str, Any]] = mapped_column(JSON)  # the model card
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100))
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RiskReview(TenantScoped, Base):
    """A claim waiting in (or decided from) the review queue (核查). One open review per claim."""

    __tablename__ = "risk_reviews"
    __table_args__ = (
        Index("ix_risk_reviews_tenant_status", "tenant_id", "status", "score"),
        Index("ix_risk_reviews_claim", "claim_id", "id"),
        Index("ix_risk_reviews_tenant_assigned", "tenant_id", "assigned_user_id", "status"),
        Index("ix_risk_reviews_tenant_label", "tenant_id", "label"),
        UniqueConstraint("tenant_id", "open_claim"),  # one review at a time per claim
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    score_id: Mapped[int] = mapped_column(ForeignKey("risk_scores.id"))
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # flags and top features at opening
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # open | investigating | decided
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(24), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    label: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)  # 1 fraud_confirmed, 0 cleared
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    open_claim: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # = claim_id while not decided
