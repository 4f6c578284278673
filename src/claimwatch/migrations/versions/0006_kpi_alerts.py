"""KPI statistical alerts (quality_alerts)

Revision ID: 0006_kpi_alerts
Revises: 0005_lookup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_kpi_alerts"
down_revision = "0005_lookup"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quality_alerts",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kpi_code", sa.String(length=48), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("unit_key", sa.String(length=32), nullable=False),
        sa.Column("unit_label", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("lower_limit", sa.Float(), nullable=False),
        sa.Column("upper_limit", sa.Float(), nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quality_alerts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_alerts")),
        sa.UniqueConstraint(
            "tenant_id",
            "kpi_code",
            "dimension",
            "unit_key",
            "period",
            name=op.f("uq_quality_alerts_tenant_id_kpi_code_dimension_unit_key_period"),
        ),
    )
    with op.batch_alter_table("quality_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_quality_alerts_tenant_created", ["tenant_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quality_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_alerts_tenant_created")
    op.drop_table("quality_alerts")
