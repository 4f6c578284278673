"""sample keys: each claim's permanent random number for inspection sampling

Revision ID: 0013_sample_keys
Revises: 0012_work_lists
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_sample_keys"
down_revision = "0012_work_lists"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a server default so SQLite can add it without rebuilding the table; the stored claims
    # then get a uniform key in [0, 2**31) and new claims get theirs from the model (cases.models).
    op.add_column("claims", sa.Column("sample_key", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE claims SET sample_key = floor(random() * 2147483648)::int")
        op.alter_column("claims", "sample_key", server_default=None)
    else:
        op.execute("UPDATE claims SET sample_key = abs(random()) % 2147483648")
    # Covering: a draw reads the candidates' population columns, and a plan counts its strata, from the index.
    op.create_index(
        "ix_claims_tenant_sample_key",
        "claims",
        ["tenant_id", "sample_key", "id", "org_unit_id", "line", "region_code", "assignee_id"],
    )
    op.create_index(
        "ix_claims_tenant_strata", "claims", ["tenant_id", "org_unit_id", "line", "region_code", "sample_key"]
    )


def downgrade() -> None:
    op.drop_index("ix_claims_tenant_strata", table_name="claims")
    op.drop_index("ix_claims_tenant_sample_key", table_name="claims")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("sample_key")
