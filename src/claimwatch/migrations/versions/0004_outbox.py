"""claimant notification outbox

Revision ID: 0004_outbox
Revises: 0003_sla
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox"
down_revision = "0003_sla"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimant_email_enc", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("claimant_email_hash", sa.String(length=64), nullable=True))

    op.create_table(
        "outbox_messages",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("claim_id", _BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient_enc", sa.String(length=400), nullable=True),
        sa.Column("recipient_hash", sa.String(length=64), nullable=True),
        sa.Column("template", sa.String(length=48), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("event_ref", sa.String(length=100), nullable=True),
        sa.Column("about_status", sa.String(length=32), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("secret_body_enc", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_outbox_messages_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_outbox_messages_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name=op.f("uq_outbox_messages_tenant_id_idempotency_key")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_claim", ["claim_id", "id"], unique=False)
        batch_op.create_index("ix_outbox_messages_tenant_status", ["tenant_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_next_attempt_at"), ["next_attempt_at"], unique=False)

    op.create_table(
        "notify_opt_outs",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notify_opt_outs_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_opt_outs")),
        sa.UniqueConstraint(
            "tenant_id", "address_hash", "channel", name=op.f("uq_notify_opt_outs_tenant_id_address_hash_channel")
        ),
    )


def downgrade() -> None:
    op.drop_table("notify_opt_outs")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_next_attempt_at"))
        batch_op.drop_index("ix_outbox_messages_tenant_status")
        batch_op.drop_index("ix_outbox_messages_claim")
    op.drop_table("outbox_messages")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("claimant_email_hash")
        batch_op.drop_column("claimant_email_enc")
