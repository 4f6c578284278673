"""降赔惜赔 flags per handler and org

Revision ID: 0024_fairness
Revises: 0023_risk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0024_fairness"
down_revision = "0023_risk"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fairness_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("settings_digest", sa.String(length=64), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("ran_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ran_by", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_fairness_runs_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairness_runs")),
        sa.UniqueConstraint("tenant_id", "period", name=op.f("uq_fairness_runs_tenant_id_period")),
    )
    op.create_table(
        "fairness_results",
        sa.Column("id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("unit_kind", sa.String(length=8), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_label", sa.String(length=100), nullable=False),
        sa.Column("measure", sa.String(length=24), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("ratio", sa.Float(), nullable=True),
        sa.Column("odds_ratio", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("q_value", sa.Float(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("base_fen", sa.BigInteger(), nullable=True),
        sa.Column("expected_fen", sa.BigInteger(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("plan_code", sa.String(length=64), nullable=True),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["fairness_runs.id"], name=op.f("fk_fairness_results_run_id_fairness_runs")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_fairness_results_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairness_results")),
        sa.UniqueConstraint(
            "tenant_id",
            "period",
            "unit_kind",
            "unit_id",
            "measure",
            name=op.f("uq_fairness_results_tenant_id_period_unit_kind_unit_id_measure"),
        ),
    )
    op.create_index(
        "ix_fairness_results_tenant_period_flagged",
        "fairness_results",
        ["tenant_id", "period", "flagged"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_fairness_results_tenant_period_flagged", table_name="fairness_results")
    op.drop_table("fairness_results")
    op.drop_table("fairness_runs")
