"""sanctions: violations, sanctions, permission suspensions, mandatory trainings, blacklist

Revision ID: 0016_sanctions
Revises: 0015_rectification
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0016_sanctions"
down_revision = "0015_rectification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("code_key", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("listed_by", sa.String(length=100), nullable=False),
        sa.Column("listed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(length=100), nullable=True),
        sa.Column("lifted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_blacklist_entries_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_blacklist_entries_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
    )
    op.create_index(
        "ix_blacklist_tenant_kind_code", "blacklist_entries", ["tenant_id", "party_kind", "code_key"], unique=False
    )
    op.create_index(
        "ix_blacklist_tenant_kind_name", "blacklist_entries", ["tenant_id", "party_kind", "name_key"], unique=False
    )
    op.create_table(
        "permission_suspensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("permission_group", sa.String(length=32), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("until_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("sanction_ref", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=100), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_permission_suspensions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_permission_suspensions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_suspensions")),
    )
    op.create_index(
        "ix_permission_suspensions_tenant_user_ends",
        "permission_suspensions",
        ["tenant_id", "user_id", "ends_at"],
        unique=False,
    )
    op.create_table(
        "violations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=200), nullable=False),
        sa.Column("party_key", sa.String(length=200), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("source_label", sa.String(length=200), nullable=False),
        sa.Column("source_url", sa.String(length=300), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_violations_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_violations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_violations_tenant_id_number")),
    )
    op.create_index(
        "ix_violations_tenant_party_occurred",
        "violations",
        ["tenant_id", "party_kind", "party_key", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "ix_violations_tenant_user_occurred", "violations", ["tenant_id", "user_id", "occurred_at"], unique=False
    )
    op.create_table(
        "mandatory_trainings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("violation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=200), nullable=False),
        sa.Column("party_key", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=100), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mandatory_trainings_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mandatory_trainings_user_id_users")),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violations.id"], name=op.f("fk_mandatory_trainings_violation_id_violations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandatory_trainings")),
        sa.UniqueConstraint("tenant_id", "violation_id", name=op.f("uq_mandatory_trainings_tenant_id_violation_id")),
    )
    op.create_index(
        "ix_mandatory_trainings_tenant_party",
        "mandatory_trainings",
        ["tenant_id", "party_kind", "party_key"],
        unique=False,
    )
    op.create_table(
        "sanctions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("violation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("default_kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("permission_group", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("proposed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sanctions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["violation_id"], ["violations.id"], name=op.f("fk_sanctions_violation_id_violations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_sanctions_tenant_id_number")),
    )
    op.create_index(
        "ix_sanctions_tenant_status_proposed", "sanctions", ["tenant_id", "status", "proposed_at"], unique=False
    )
    op.create_index("ix_sanctions_tenant_violation", "sanctions", ["tenant_id", "violation_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sanctions_tenant_violation", table_name="sanctions")
    op.drop_index("ix_sanctions_tenant_status_proposed", table_name="sanctions")
    op.drop_table("sanctions")
    op.drop_index("ix_mandatory_trainings_tenant_party", table_name="mandatory_trainings")
    op.drop_table("mandatory_trainings")
    op.drop_index("ix_violations_tenant_user_occurred", table_name="violations")
    op.drop_index("ix_violations_tenant_party_occurred", table_name="violations")
    op.drop_table("violations")
    op.drop_index("ix_permission_suspensions_tenant_user_ends", table_name="permission_suspensions")
    op.drop_table("permission_suspensions")
    op.drop_index("ix_blacklist_tenant_kind_name", table_name="blacklist_entries")
    op.drop_index("ix_blacklist_tenant_kind_code", table_name="blacklist_entries")
    op.drop_table("blacklist_entries")
