"""audit chain written by more than one writer: sequence blocks (audit_blocks) handed out by a per-tenant counter
(audit_allocators) in a short transaction of its own, linked into the chain later in sequence order

Revision ID: 0030_audit_blocks
Revises: 0029_servicedesk_kb_forecasts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0030_audit_blocks"
down_revision = "0029_servicedesk_kb_forecasts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_allocators",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_allocators_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_audit_allocators")),
    )
    op.create_table(
        "audit_blocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("filled_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=True),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("voided", sa.Integer(), nullable=False),
        sa.Column("allocated_at", UTCDateTime(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_blocks_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_blocks")),
        sa.UniqueConstraint("tenant_id", "first_seq", name=op.f("uq_audit_blocks_tenant_id_first_seq")),
    )
    op.execute("INSERT INTO audit_allocators (tenant_id, next_seq) SELECT tenant_id, seq + 1 FROM audit_heads")
    # Concurrent batches count their events in rows of their own (ops.models.IngestCount).
    with op.batch_alter_table("ingest_counts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.drop_constraint("uq_ingest_counts_tenant_id_source", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_ingest_counts_tenant_id_source_shard"), ["tenant_id", "source", "shard"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM ingest_counts WHERE shard <> 0")  # the counts of other shards are lost
    with op.batch_alter_table("ingest_counts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_ingest_counts_tenant_id_source_shard", type_="unique")
        batch_op.create_unique_constraint("uq_ingest_counts_tenant_id_source", ["tenant_id", "source"])
        batch_op.drop_column("shard")
    op.drop_table("audit_blocks")
    op.drop_table("audit_allocators")
