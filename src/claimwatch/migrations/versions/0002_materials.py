"""materials checklist: profiles, notices, documents

Revision ID: 0002_materials
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_materials"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "materials_profiles",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("claim_id", _BIG_ID, nullable=False),
        sa.Column("claim_type", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("notices_issued", sa.Integer(), nullable=False),
        sa.Column("supplement_rounds", sa.Integer(), nullable=False),
        sa.Column("violation_rounds", sa.Integer(), nullable=False),
        sa.Column("awaiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_materials_profiles_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_materials_profiles_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials_profiles")),
        sa.UniqueConstraint("tenant_id", "claim_id", name=op.f("uq_materials_profiles_tenant_id_claim_id")),
    )
    op.create_table(
        "materials_notices",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("claim_id", _BIG_ID, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("claim_type", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("missing_items", sa.JSON(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("violation_items", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_materials_notices_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_materials_notices_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials_notices")),
        sa.UniqueConstraint(
            "tenant_id", "claim_id", "round", name=op.f("uq_materials_notices_tenant_id_claim_id_round")
        ),
    )
    op.create_table(
        "materials_documents",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("claim_id", _BIG_ID, nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.String(length=500), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_materials_documents_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_materials_documents_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials_documents")),
    )
    with op.batch_alter_table("materials_documents", schema=None) as batch_op:
        batch_op.create_index("ix_materials_documents_claim_item", ["tenant_id", "claim_id", "item_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("materials_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_materials_documents_claim_item")
    op.drop_table("materials_documents")
    op.drop_table("materials_notices")
    op.drop_table("materials_profiles")
