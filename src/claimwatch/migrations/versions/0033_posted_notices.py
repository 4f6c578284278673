"""notify: legal notices sent by post (保险法 art. 24 refusal notice: who posted it, when, the tracking number)

Revision ID: 0033_posted_notices
Revises: 0032_sweep
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0033_posted_notices"
down_revision = "0032_sweep"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "posted_notices",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("claim_id", BIG_ID, nullable=False),
        sa.Column("template", sa.String(length=48), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("posted_by", sa.String(length=100), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_posted_notices_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_posted_notices_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posted_notices")),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "template",
            "tracking_number",
            name=op.f("uq_posted_notices_tenant_id_claim_id_template_tracking_number"),
        ),
    )
    with op.batch_alter_table("posted_notices", schema=None) as batch_op:
        batch_op.create_index("ix_posted_notices_claim", ["claim_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("posted_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_posted_notices_claim")
    op.drop_table("posted_notices")
