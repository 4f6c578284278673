"""the personal-data access log: who viewed, exported or unmasked whose data

Revision ID: 0009_personal_data_access
Revises: 0008_auth_security
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_personal_data_access"
down_revision = "0008_auth_security"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "personal_data_access",
        sa.Column("id", BigId, nullable=False),
        sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("record_ref", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_personal_data_access_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access")),
    )
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.create_index("ix_personal_data_access_tenant_at", ["tenant_id", "accessed_at"], unique=False)
        batch_op.create_index("ix_personal_data_access_tenant_record", ["tenant_id", "record_ref"], unique=False)
        batch_op.create_index(
            "ix_personal_data_access_tenant_actor", ["tenant_id", "actor", "accessed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_data_access_tenant_actor")
        batch_op.drop_index("ix_personal_data_access_tenant_record")
        batch_op.drop_index("ix_personal_data_access_tenant_at")
    op.drop_table("personal_data_access")
