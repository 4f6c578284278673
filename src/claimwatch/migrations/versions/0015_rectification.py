"""rectification: rectifications (整改), their clocks, events and evidence

Revision ID: 0015_rectification
Revises: 0014_inspections
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0015_rectification"
down_revision = "0014_inspections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rectifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("source_label", sa.String(length=200), nullable=False),
        sa.Column("source_url", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("owner_org_unit_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("plan_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("acceptance_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("plan_submitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("plan_outcome", sa.String(length=8), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_back_count", sa.Integer(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=100), nullable=True),
        sa.Column("acceptance_outcome", sa.String(length=8), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_unit_id"], ["org_units.id"], name=op.f("fk_rectifications_owner_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name=op.f("fk_rectifications_owner_user_id_users")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rectifications_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_rectifications_tenant_id_number")),
        sa.UniqueConstraint(
            "tenant_id", "source_kind", "source_id", name=op.f("uq_rectifications_tenant_id_source_kind_source_id")
        ),
    )
    op.create_index("ix_rectifications_tenant_opened", "rectifications", ["tenant_id", "opened_at"], unique=False)
    op.create_index(
        "ix_rectifications_tenant_owner", "rectifications", ["tenant_id", "owner_user_id", "status"], unique=False
    )
    op.create_index("ix_rectifications_tenant_status", "rectifications", ["tenant_id", "status"], unique=False)
    op.create_table(
        "rectification_clocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rectification_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("policy_code", sa.String(length=48), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("yellow_budget", sa.Float(), nullable=False),
        sa.Column("red_budget", sa.Float(), nullable=False),
        sa.Column("extended", sa.Float(), nullable=False),
        sa.Column("consumed", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("anchor_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("running_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("suspended_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("yellow_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("red_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_by", sa.Float(), nullable=True),
        sa.Column("calendar_gap", sa.Integer(), nullable=True),
        sa.Column("next_check_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectifications.id"],
            name=op.f("fk_rectification_clocks_rectification_id_rectifications"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rectification_clocks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_clocks")),
        sa.UniqueConstraint(
            "tenant_id",
            "rectification_id",
            "policy_code",
            "cycle",
            name=op.f("uq_rectification_clocks_tenant_id_rectification_id_policy_code_cycle"),
        ),
    )
    op.create_index(
        "ix_rectification_clocks_open_due",
        "rectification_clocks",
        ["tenant_id", "yellow_due_at"],
        unique=False,
        sqlite_where=sa.text("state <> 'stopped'"),
        postgresql_where=sa.text("state <> 'stopped'"),
    )
    op.create_index(
        "ix_rectification_clocks_tenant_next_check",
        "rectification_clocks",
        ["tenant_id", "next_check_at"],
        unique=False,
    )
    op.create_table(
        "rectification_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rectification_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectifications.id"],
            name=op.f("fk_rectification_events_rectification_id_rectifications"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rectification_events_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_events")),
    )
    op.create_index(
        "ix_rectification_events_rectification", "rectification_events", ["rectification_id", "id"], unique=False
    )
    op.create_table(
        "rectification_evidence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rectification_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectifications.id"],
            name=op.f("fk_rectification_evidence_rectification_id_rectifications"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rectification_evidence_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_evidence")),
        sa.UniqueConstraint(
            "tenant_id",
            "rectification_id",
            "step",
            "sha256",
            name=op.f("uq_rectification_evidence_tenant_id_rectification_id_step_sha256"),
        ),
    )
    op.create_index(
        "ix_rectification_evidence_rectification",
        "rectification_evidence",
        ["tenant_id", "rectification_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_rectification_evidence_rectification", table_name="rectification_evidence")
    op.drop_table("rectification_evidence")
    op.drop_index("ix_rectification_events_rectification", table_name="rectification_events")
    op.drop_table("rectification_events")
    op.drop_index("ix_rectification_clocks_tenant_next_check", table_name="rectification_clocks")
    op.drop_index(
        "ix_rectification_clocks_open_due",
        table_name="rectification_clocks",
        sqlite_where=sa.text("state <> 'stopped'"),
        postgresql_where=sa.text("state <> 'stopped'"),
    )
    op.drop_table("rectification_clocks")
    op.drop_index("ix_rectifications_tenant_status", table_name="rectifications")
    op.drop_index("ix_rectifications_tenant_owner", table_name="rectifications")
    op.drop_index("ix_rectifications_tenant_opened", table_name="rectifications")
    op.drop_table("rectifications")
