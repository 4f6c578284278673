"""supervision (the service rating: methodologies, runs, results, deductions, objections; the whitelist) and
evidence (the Merkle tree over each tenant's audit entries, signing keys, signed tree heads, witnessed heads)

Revision ID: 0027_supervision_evidence
Revises: 0026_providers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0027_supervision_evidence"
down_revision = "0026_providers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rating_methodologies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_methodologies")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_rating_methodologies_code_version")),
    )
    op.create_table(
        "evidence_nodes",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evidence_nodes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "level", "idx", name=op.f("pk_evidence_nodes")),
    )
    op.create_table(
        "evidence_signing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_key_enc", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_evidence_signing_keys_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_signing_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_evidence_signing_keys_key_id")),
    )
    with op.batch_alter_table("evidence_signing_keys", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_signing_keys_tenant", ["tenant_id", "retired_at"], unique=False)

    op.create_table(
        "evidence_tree_heads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evidence_tree_heads_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_tree_heads")),
    )
    with op.batch_alter_table("evidence_tree_heads", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_tree_heads_tenant_size", ["tenant_id", "tree_size"], unique=False)

    op.create_table(
        "evidence_tree_states",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_evidence_tree_states_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_evidence_tree_states")),
    )
    op.create_table(
        "evidence_witnessed_heads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("compared_with_size", sa.BigInteger(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("witness_key_id", sa.String(length=16), nullable=True),
        sa.Column("witness_signature", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evidence_witnessed_heads_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_witnessed_heads")),
    )
    with op.batch_alter_table("evidence_witnessed_heads", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_witnessed_heads_tenant_size", ["tenant_id", "tree_size"], unique=False)

    op.create_table(
        "rating_deductions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("entered_by", sa.String(length=100), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_rating_deductions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_deductions")),
    )
    with op.batch_alter_table("rating_deductions", schema=None) as batch_op:
        batch_op.create_index("ix_rating_deductions_tenant_period", ["tenant_id", "period"], unique=False)

    op.create_table(
        "rating_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("methodology_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("snapshot_taken_at", UTCDateTime(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("computed_by", sa.String(length=100), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("objections_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["methodology_id"],
            ["rating_methodologies.id"],
            name=op.f("fk_rating_runs_methodology_id_rating_methodologies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_runs")),
    )
    with op.batch_alter_table("rating_runs", schema=None) as batch_op:
        batch_op.create_index("ix_rating_runs_period", ["period", "level", "status"], unique=False)

    op.create_table(
        "whitelist_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("qualifies", sa.Boolean(), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("months", sa.JSON(), nullable=False),
        sa.Column("rule_sha256", sa.String(length=64), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_whitelist_statuses_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whitelist_statuses")),
        sa.UniqueConstraint("tenant_id", "month", name=op.f("uq_whitelist_statuses_tenant_id_month")),
    )
    op.create_table(
        "rating_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("score", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("grade", sa.String(length=4), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("peers", sa.Integer(), nullable=False),
        sa.Column("rank_band", sa.String(length=16), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("deductions", sa.JSON(), nullable=False),
        sa.Column("deduction_points", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("previous_score", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("previous_grade", sa.String(length=4), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["rating_runs.id"], name=op.f("fk_rating_results_run_id_rating_runs")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_rating_results_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_results")),
    )
    with op.batch_alter_table("rating_results", schema=None) as batch_op:
        batch_op.create_index("ix_rating_results_run_tenant", ["run_id", "tenant_id"], unique=False)

    op.create_table(
        "rating_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("filed_by", sa.String(length=100), nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decide_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("revised_score", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("revised_grade", sa.String(length=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["result_id"], ["rating_results.id"], name=op.f("fk_rating_objections_result_id_rating_results")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_rating_objections_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_objections")),
    )
    with op.batch_alter_table("rating_objections", schema=None) as batch_op:
        batch_op.create_index("ix_rating_objections_status", ["status", "decide_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rating_objections", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_objections_status")

    op.drop_table("rating_objections")
    with op.batch_alter_table("rating_results", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_results_run_tenant")

    op.drop_table("rating_results")
    op.drop_table("whitelist_statuses")
    with op.batch_alter_table("rating_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_runs_period")

    op.drop_table("rating_runs")
    with op.batch_alter_table("rating_deductions", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_deductions_tenant_period")

    op.drop_table("rating_deductions")
    with op.batch_alter_table("evidence_witnessed_heads", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_witnessed_heads_tenant_size")

    op.drop_table("evidence_witnessed_heads")
    op.drop_table("evidence_tree_states")
    with op.batch_alter_table("evidence_tree_heads", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_tree_heads_tenant_size")

    op.drop_table("evidence_tree_heads")
    with op.batch_alter_table("evidence_signing_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_signing_keys_tenant")

    op.drop_table("evidence_signing_keys")
    op.drop_table("evidence_nodes")
    op.drop_table("rating_methodologies")
