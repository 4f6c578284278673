"""risk: scores (history per claim), trained model versions, the review queue (核查)

Revision ID: 0023_risk
Revises: 0022_catastrophes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0023_risk"
down_revision = "0022_catastrophes"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "risk_models",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("flags_digest", sa.String(length=64), nullable=False),
        sa.Column("window_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_until", UTCDateTime(timezone=True), nullable=False),
        sa.Column("holdout_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("activated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_risk_models_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_models")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_risk_models_tenant_id_version")),
    )
    op.create_index(
        "ix_risk_models_one_active",
        "risk_models",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "risk_scores",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("claim_id", BIG_ID, nullable=False),
        sa.Column("scored_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("model_id", BIG_ID, nullable=True),
        sa.Column("flags_digest", sa.String(length=64), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("contributions", sa.JSON(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_risk_scores_claim_id_claims")),
        sa.ForeignKeyConstraint(["model_id"], ["risk_models.id"], name=op.f("fk_risk_scores_model_id_risk_models")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_risk_scores_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scores")),
    )
    op.create_index("ix_risk_scores_claim", "risk_scores", ["claim_id", "id"], unique=False)
    op.create_index("ix_risk_scores_tenant_scored", "risk_scores", ["tenant_id", "scored_at"], unique=False)
    op.create_table(
        "risk_reviews",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("claim_id", BIG_ID, nullable=False),
        sa.Column("score_id", BIG_ID, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_user_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=24), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("label", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("open_claim", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"], ["users.id"], name=op.f("fk_risk_reviews_assigned_user_id_users")
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_risk_reviews_claim_id_claims")),
        sa.ForeignKeyConstraint(["score_id"], ["risk_scores.id"], name=op.f("fk_risk_reviews_score_id_risk_scores")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_risk_reviews_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reviews")),
        sa.UniqueConstraint("tenant_id", "open_claim", name=op.f("uq_risk_reviews_tenant_id_open_claim")),
    )
    op.create_index("ix_risk_reviews_claim", "risk_reviews", ["claim_id", "id"], unique=False)
    op.create_index(
        "ix_risk_reviews_tenant_assigned", "risk_reviews", ["tenant_id", "assigned_user_id", "status"], unique=False
    )
    op.create_index("ix_risk_reviews_tenant_label", "risk_reviews", ["tenant_id", "label"], unique=False)
    op.create_index("ix_risk_reviews_tenant_status", "risk_reviews", ["tenant_id", "status", "score"], unique=False)


def downgrade() -> None:
    op.drop_table("risk_reviews")
    op.drop_table("risk_scores")
    op.drop_table("risk_models")
