"""claimant self-service lookup

Revision ID: 0005_lookup
Revises: 0004_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_lookup"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lookup_throttles",
        sa.Column("id", BigId, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_throttles")),
        sa.UniqueConstraint("scope", "key_hash", name=op.f("uq_lookup_throttles_scope_key_hash")),
    )
    with op.batch_alter_table("lookup_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lookup_throttles_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "lookup_codes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("claim_id", BigId, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_lookup_codes_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_lookup_codes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_codes")),
    )
    with op.batch_alter_table("lookup_codes", schema=None) as batch_op:
        batch_op.create_index("ix_lookup_codes_claim", ["tenant_id", "claim_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lookup_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_lookup_codes_claim")
    op.drop_table("lookup_codes")
    with op.batch_alter_table("lookup_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lookup_throttles_updated_at"))
    op.drop_table("lookup_throttles")
