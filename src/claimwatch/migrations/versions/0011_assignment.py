"""assignment: handler skills, scope, capacity, leave, rules and decisions, load history

Revision ID: 0011_assignment
Revises: 0010_staff_notifications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.schema import SchemaItem

revision = "0011_assignment"
down_revision = "0010_staff_notifications"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _tenant(table: str) -> list[SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="RESTRICT"
        ),
    ]


def _user_fk(table: str, column: str = "user_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))


def upgrade() -> None:
    op.create_table(
        "handler_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("claim_types", sa.JSON(), nullable=False),
        sa.Column("authority_fen", sa.BigInteger(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("region_codes", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("handles_claims", sa.Boolean(), nullable=False),
        sa.Column("handles_complaints", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        *_tenant("handler_profiles"),
        _user_fk("handler_profiles"),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_handler_profiles_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handler_profiles")),
        sa.UniqueConstraint("tenant_id", "user_id", name=op.f("uq_handler_profiles_tenant_id_user_id")),
    )
    op.create_table(
        "handler_leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", When, nullable=False),
        *_tenant("handler_leaves"),
        _user_fk("handler_leaves"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handler_leaves")),
    )
    with op.batch_alter_table("handler_leaves", schema=None) as batch_op:
        batch_op.create_index("ix_handler_leaves_tenant_user", ["tenant_id", "user_id", "ends_on"], unique=False)
    op.create_table(
        "assignment_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("last_claim_user_id", sa.Integer(), nullable=True),
        sa.Column("last_complaint_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        *_tenant("assignment_settings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_assignment_settings_tenant_id")),
    )
    op.create_table(
        "assignment_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("decided_at", When, nullable=False),
        sa.Column("applied_at", When, nullable=True),
        *_tenant("assignment_decisions"),
        _user_fk("assignment_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_decisions")),
    )
    with op.batch_alter_table("assignment_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_assignment_decisions_tenant_status", ["tenant_id", "status"], unique=False)
        batch_op.create_index("ix_assignment_decisions_tenant_case", ["tenant_id", "kind", "case_id"], unique=False)
    op.create_table(
        "assignment_load_snapshots",
        sa.Column("id", BigId, nullable=False),
        sa.Column("taken_at", When, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("open_claims", sa.Integer(), nullable=False),
        sa.Column("open_complaints", sa.Integer(), nullable=False),
        sa.Column("weighted_load", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *_tenant("assignment_load_snapshots"),
        _user_fk("assignment_load_snapshots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_load_snapshots")),
    )
    with op.batch_alter_table("assignment_load_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_assignment_load_tenant_taken", ["tenant_id", "taken_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assignment_load_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_load_tenant_taken")
    op.drop_table("assignment_load_snapshots")
    with op.batch_alter_table("assignment_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_decisions_tenant_case")
        batch_op.drop_index("ix_assignment_decisions_tenant_status")
    op.drop_table("assignment_decisions")
    op.drop_table("assignment_settings")
    with op.batch_alter_table("handler_leaves", schema=None) as batch_op:
        batch_op.drop_index("ix_handler_leaves_tenant_user")
    op.drop_table("handler_leaves")
    op.drop_table("handler_profiles")
