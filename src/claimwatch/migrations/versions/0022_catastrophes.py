"""catastrophe events (大灾) and their green channel

Revision ID: 0022_catastrophes
Revises: 0021_triage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0022_catastrophes"
down_revision = "0021_triage"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PRIORITY = "priority > 0"
_IN_EVENT = "catastrophe_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "catastrophes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_codes", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("declared_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_catastrophes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catastrophes")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_catastrophes_tenant_id_code")),
    )
    # The named manual-assistance handler (人工辅助): green-channel claims go to these handlers first.
    op.add_column(
        "handler_profiles", sa.Column("green_channel", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # Priority first in every queue: the few claims with a priority, newest first, read from a small index;
    # the rest keep the list's own indexes (cases.repository.search_claims).
    op.create_index(
        "ix_claims_tenant_priority",
        "claims",
        ["tenant_id", "priority", "reported_at"],
        sqlite_where=sa.text(_PRIORITY),
        postgresql_where=sa.text(_PRIORITY),
    )
    # An event's claims (its page: counts, paid, open and overdue by region).
    op.create_index(
        "ix_claims_tenant_catastrophe",
        "claims",
        ["tenant_id", "catastrophe_id", "region_code"],
        sqlite_where=sa.text(_IN_EVENT),
        postgresql_where=sa.text(_IN_EVENT),
    )


def downgrade() -> None:
    op.drop_index("ix_claims_tenant_catastrophe", table_name="claims")
    op.drop_index("ix_claims_tenant_priority", table_name="claims")
    with op.batch_alter_table("handler_profiles", schema=None) as batch_op:
        batch_op.drop_column("green_channel")
    op.drop_table("catastrophes")
