"""inspections: plans, draws, sampled cases, item results, evidence, findings, reviews

Revision ID: 0014_inspections
Revises: 0013_sample_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0014_inspections"
down_revision = "0013_sample_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("scorecard_code", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_plans_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plans")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_inspection_plans_tenant_id_code")),
    )
    with op.batch_alter_table("inspection_plans", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_plans_tenant_schedule", ["tenant_id", "schedule", "active"], unique=False)

    op.create_table(
        "inspection_draws",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("population_count", sa.Integer(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("strata", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("drawn_by", sa.String(length=100), nullable=False),
        sa.Column("drawn_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["inspection_plans.id"], name=op.f("fk_inspection_draws_plan_id_inspection_plans")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_draws_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_draws")),
        sa.UniqueConstraint(
            "tenant_id", "plan_id", "period", name=op.f("uq_inspection_draws_tenant_id_plan_id_period")
        ),
    )
    with op.batch_alter_table("inspection_draws", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_draws_tenant_drawn", ["tenant_id", "drawn_at"], unique=False)

    op.create_table(
        "inspections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("draw_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("stratum", sa.String(length=120), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("region_code", sa.String(length=16), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("scorecard_code", sa.String(length=64), nullable=False),
        sa.Column("scorecard_digest", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("critical_failed", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["inspection_draws.id"], name=op.f("fk_inspections_draw_id_inspection_draws")
        ),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_inspections_handler_id_users")),
        sa.ForeignKeyConstraint(["inspector_id"], ["users.id"], name=op.f("fk_inspections_inspector_id_users")),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_inspections_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["inspection_plans.id"], name=op.f("fk_inspections_plan_id_inspection_plans")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspections_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
        sa.UniqueConstraint(
            "tenant_id",
            "draw_id",
            "subject_kind",
            "subject_id",
            name=op.f("uq_inspections_tenant_id_draw_id_subject_kind_subject_id"),
        ),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index("ix_inspections_tenant_draw_stratum", ["tenant_id", "draw_id", "stratum"], unique=False)
        batch_op.create_index(
            "ix_inspections_tenant_inspector_status", ["tenant_id", "inspector_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_inspections_tenant_subject", ["tenant_id", "subject_kind", "subject_id"], unique=False
        )
        batch_op.create_index("ix_inspections_tenant_submitted", ["tenant_id", "submitted_at"], unique=False)

    op.create_table(
        "inspection_evidence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inspection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.String(length=400), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_inspection_evidence_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_evidence_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_evidence")),
    )
    with op.batch_alter_table("inspection_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_evidence_inspection", ["tenant_id", "inspection_id"], unique=False)

    op.create_table(
        "inspection_findings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("inspection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=48), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("responsible_user_id", sa.Integer(), nullable=True),
        sa.Column("responsible_org_unit_id", sa.Integer(), nullable=True),
        sa.Column("rectification_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_inspection_findings_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_inspection_findings_responsible_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["responsible_user_id"], ["users.id"], name=op.f("fk_inspection_findings_responsible_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_findings_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_findings")),
    )
    with op.batch_alter_table("inspection_findings", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_findings_tenant_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index("ix_inspection_findings_tenant_inspection", ["tenant_id", "inspection_id"], unique=False)
        batch_op.create_index(
            "ix_inspection_findings_tenant_responsible", ["tenant_id", "responsible_user_id"], unique=False
        )

    op.create_table(
        "inspection_item_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inspection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("round", sa.String(length=8), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_inspection_item_results_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inspection_item_results_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_item_results")),
        sa.UniqueConstraint(
            "tenant_id",
            "inspection_id",
            "round",
            "item_code",
            name=op.f("uq_inspection_item_results_tenant_id_inspection_id_round_item_code"),
        ),
    )
    op.create_table(
        "inspection_reviews",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inspection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("agreed", sa.Boolean(), nullable=True),
        sa.Column("disagreements", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_inspection_reviews_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_inspection_reviews_reviewer_id_users")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inspection_reviews_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_reviews")),
        sa.UniqueConstraint("tenant_id", "inspection_id", name=op.f("uq_inspection_reviews_tenant_id_inspection_id")),
    )
    with op.batch_alter_table("inspection_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_reviews_tenant_reviewer_status", ["tenant_id", "reviewer_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_reviews_tenant_reviewer_status")

    op.drop_table("inspection_reviews")
    op.drop_table("inspection_item_results")
    with op.batch_alter_table("inspection_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_findings_tenant_responsible")
        batch_op.drop_index("ix_inspection_findings_tenant_inspection")
        batch_op.drop_index("ix_inspection_findings_tenant_created")

    op.drop_table("inspection_findings")
    with op.batch_alter_table("inspection_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_evidence_inspection")

    op.drop_table("inspection_evidence")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index("ix_inspections_tenant_submitted")
        batch_op.drop_index("ix_inspections_tenant_subject")
        batch_op.drop_index("ix_inspections_tenant_inspector_status")
        batch_op.drop_index("ix_inspections_tenant_draw_stratum")

    op.drop_table("inspections")
    with op.batch_alter_table("inspection_draws", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_draws_tenant_drawn")

    op.drop_table("inspection_draws")
    with op.batch_alter_table("inspection_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_plans_tenant_schedule")

    op.drop_table("inspection_plans")
